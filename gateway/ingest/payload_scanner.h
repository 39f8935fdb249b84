// Entry point of payload inspection: from (route kind, Content-Type/Content-Encoding, body) to
// the request's Counts or a 400/413/415 with a one-line reason (DESIGN.md §4, §5). The body is
// only read, never modified: the gateway forwards the original bytes.
//
// Decoder selection:
//  - prometheus_remote_write: Content-Encoding must be snappy (block format); an absent header is
//    taken as snappy, like Prometheus' own receiver does for "yolo 1.0 clients"; anything else is
//    415. Content-Type application/x-protobuf without `proto` or with proto=prometheus.WriteRequest
//    is 1.0; proto=io.prometheus.write.v2.Request is 2.0; any other media type or proto is 415.
//    An absent Content-Type is taken as 1.0 (again as Prometheus does).
//  - loki_push: Content-Type application/json is JSON, anything else (including absent) is
//    protobuf, which is always snappy block-compressed. Content-Encoding gzip or deflate wraps
//    either; Content-Encoding snappy on protobuf names that same snappy layer (Loki does not
//    decompress twice), on JSON it is a snappy layer around the JSON. Other codings: 415.
//  - passthrough: not inspected; empty Counts.
// Every decompression step is bounded by ScanLimits::max_decompressed_bytes (413 beyond).
//
// Thread-safety: pure except for `scratch`, which belongs to the calling worker thread.
#pragma once

#include <string_view>

#include "gateway/config/config.h"
#include "gateway/ingest/scan_types.h"

namespace mla::ingest {

ScanResult scan_payload(config::RouteKind kind, const RequestInfo& info, std::string_view body,
                        ScanBuffers& scratch, const ScanLimits& limits = {});

}  // namespace mla::ingest
