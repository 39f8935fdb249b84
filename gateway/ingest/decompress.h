// Bounded decompression into a caller-owned, reused std::string (its capacity is kept, so a
// worker decompressing similar requests does not allocate). Every function refuses to produce
// more than `max_output` bytes: a decompression bomb costs at most max_output of memory and the
// CPU to produce it. Pure functions; thread-safe as long as each call has its own `out`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mla::ingest {

enum class DecompressStatus {
  kOk,
  kCorrupt,   // not valid snappy/gzip/deflate data, truncated, or trailing garbage
  kTooLarge,  // the output would exceed max_output
};

// Snappy block format (not the framing format), as sent by Prometheus remote-write and Loki
// clients. The claimed uncompressed length is checked against max_output before any allocation.
DecompressStatus snappy_uncompress(std::string_view in, std::size_t max_output, std::string& out);

enum class ZlibFormat {
  kGzip,     // RFC 1952; concatenated members are decoded one after another (as Go's gzip does)
  kDeflate,  // HTTP "deflate": RFC 1950 zlib stream, or raw RFC 1951 (what Go's compress/flate
             // and so Loki expect); told apart by the zlib header check bits
};

DecompressStatus zlib_uncompress(std::string_view in, ZlibFormat format, std::size_t max_output,
                                 std::string& out);

}  // namespace mla::ingest
