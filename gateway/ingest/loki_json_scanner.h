// Counts streams, entries and bytes in a Loki JSON push body
//   {"streams":[{"stream":{"k":"v",...},"values":[["<ns>","line"(,{"k":"v",...})],...]},...]}
// with nlohmann-json's SAX parser: no document tree is built, so memory stays at the parser's
// token buffer whatever the number of entries. Bytes are counted like Loki's rate limiter:
// decoded line length plus key + value lengths of the optional structured-metadata object.
// Unknown keys are skipped (as Loki does); a wrong shape of a known key is an error.
// Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "gateway/ingest/scan_types.h"

namespace mla::ingest {

// Maximum nesting of skipped (unknown) values; deeper documents are rejected.
inline constexpr int kMaxJsonSkipDepth = 64;

// On success adds to `counts` and returns true; on failure returns false with a one-line
// `reason` (answer 400) and `counts` is unspecified.
bool scan_loki_json(std::string_view body, Counts& counts, std::string& reason);

}  // namespace mla::ingest
