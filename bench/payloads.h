// Realistic push bodies shared by the benchmark tools; see payloads.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "gateway/config/config.h"
#include "gateway/ingest/scan_types.h"

namespace mla::bench {

inline constexpr std::uint32_t kDefaultSeed = 20240611;
inline constexpr int kDefaultSeries = 2000;                 // remote-write: series × 1 sample
inline constexpr std::size_t kDefaultLokiBytes = 1u << 20;  // Loki: ~1 MiB on the wire

// One request body as a client sends it, and what the gateway's scanner must count in it.
struct Body {
  std::string name;
  config::RouteKind kind;
  std::string content_type;
  std::string content_encoding;  // "" when none (snappy of remote-write/Loki proto is implicit)
  std::string bytes;             // the request body as sent
  std::size_t raw_bytes = 0;     // after every decompression layer
  ingest::Counts expected;
};

// Remote-write 1.0: `series` series of ~10 labels and one sample each, snappy block.
Body remote_write_v1(int series = kDefaultSeries, std::uint32_t seed = kDefaultSeed);
// Remote-write 2.0: the same series with interned symbols and per-series metadata.
Body remote_write_v2(int series = kDefaultSeries, std::uint32_t seed = kDefaultSeed);
// Loki push as Promtail sends it: protobuf + snappy, ~`wire_bytes` on the wire.
Body loki_proto_body(std::size_t wire_bytes = kDefaultLokiBytes, std::uint32_t seed = kDefaultSeed);
// Loki push as JSON clients send it, ~`wire_bytes` of JSON text, optionally gzip-encoded.
Body loki_json_body(std::size_t wire_bytes = kDefaultLokiBytes, bool gzip = false,
                    std::uint32_t seed = kDefaultSeed);

}  // namespace mla::bench
