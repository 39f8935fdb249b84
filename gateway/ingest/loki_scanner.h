// Counts streams, entries (lines) and bytes in an uncompressed Loki logproto.PushRequest by
// walking the wire format; nothing is allocated per entry. Bytes are counted as Loki's
// distributor counts them for its ingestion rate limit: len(line) plus, for each structured
// metadata pair, len(name) + len(value). Depth is fixed by the schema (PushRequest > Stream >
// Entry > LabelPair); unknown fields are skipped; framing and the wire types of known fields are
// validated. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "gateway/ingest/scan_types.h"

namespace mla::ingest {

// On success adds to `counts` (series = streams, log_lines, log_bytes) and returns true; on
// failure returns false with a one-line `reason` (answer 400) and `counts` is unspecified.
bool scan_loki_proto(std::string_view message, Counts& counts, std::string& reason);

}  // namespace mla::ingest
