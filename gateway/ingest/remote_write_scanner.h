// Counts series, samples, histograms, exemplars and metadata in an uncompressed Prometheus
// remote-write message (1.0: prometheus.WriteRequest, 2.0: io.prometheus.write.v2.Request) by
// walking the wire format; nothing is allocated per sample. Framing is validated on the path to
// every counted message and one level inside it (tags, varints, lengths, wire types of known
// fields); label names/values, symbols and histogram buckets are skipped as opaque bytes and left
// to the backend. Nesting depth is fixed by the schema (Request > TimeSeries > Sample), so there
// is no recursion. Unknown fields are skipped, as a protobuf parser would. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "gateway/ingest/scan_types.h"

namespace mla::ingest {

// On success adds to `counts` and returns true; on failure returns false with a one-line
// `reason` (the caller answers 400) and `counts` is unspecified.
bool scan_remote_write_v1(std::string_view message, Counts& counts, std::string& reason);
bool scan_remote_write_v2(std::string_view message, Counts& counts, std::string& reason);

}  // namespace mla::ingest
