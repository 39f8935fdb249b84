// Compression helpers for building test bodies the way clients do (snappy block, gzip, zlib and
// raw deflate). Test-only; header-only.
#pragma once

#include <snappy.h>
#include <zlib.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace mla::ingest::testing {

inline std::string snappy_block(std::string_view raw) {
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

// window_bits: 15 + 16 = gzip, 15 = zlib ("deflate" per RFC 9110), -15 = raw deflate.
inline std::string zlib_compress(std::string_view raw, int window_bits) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2");
  }
  std::string out(deflateBound(&zs, raw.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(zs.total_out);
  return out;
}

inline std::string gzip(std::string_view raw) { return zlib_compress(raw, 15 + 16); }
inline std::string zlib_deflate(std::string_view raw) { return zlib_compress(raw, 15); }
inline std::string raw_deflate(std::string_view raw) { return zlib_compress(raw, -15); }

}  // namespace mla::ingest::testing
