#include "gateway/ingest/decompress.h"

#include <snappy.h>
#include <zlib.h>

#include <algorithm>
#include <climits>

namespace mla::ingest {
namespace {

constexpr std::size_t kInitialInflateBytes = std::size_t{64} << 10;

// RFC 1950 §2.2: CM = 8 (deflate), CINFO <= 7, and the 16-bit header is a multiple of 31.
bool has_zlib_header(std::string_view in) {
  if (in.size() < 2) return false;
  const auto cmf = static_cast<unsigned char>(in[0]);
  const auto flg = static_cast<unsigned char>(in[1]);
  return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
}

// Owns a z_stream for the duration of one call.
class Inflater {
 public:
  explicit Inflater(int window_bits) { ok_ = inflateInit2(&stream_, window_bits) == Z_OK; }
  ~Inflater() {
    if (ok_) inflateEnd(&stream_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  bool ok() const { return ok_; }
  z_stream& stream() { return stream_; }

 private:
  z_stream stream_{};
  bool ok_ = false;
};

}  // namespace

DecompressStatus snappy_uncompress(std::string_view in, std::size_t max_output, std::string& out) {
  std::size_t length = 0;
  if (!snappy::GetUncompressedLength(in.data(), in.size(), &length)) {
    return DecompressStatus::kCorrupt;
  }
  if (length > max_output) return DecompressStatus::kTooLarge;
  out.resize(length);
  // RawUncompress writes exactly `length` bytes at most and fails if the stream disagrees.
  if (!snappy::RawUncompress(in.data(), in.size(), out.data())) {
    return DecompressStatus::kCorrupt;
  }
  return DecompressStatus::kOk;
}

DecompressStatus zlib_uncompress(std::string_view in, ZlibFormat format, std::size_t max_output,
                                 std::string& out) {
  out.clear();
  if (in.empty() || in.size() > UINT_MAX) return DecompressStatus::kCorrupt;
  int window_bits = 15 + 16;  // gzip only
  if (format == ZlibFormat::kDeflate) window_bits = has_zlib_header(in) ? 15 : -15;
  Inflater inflater(window_bits);
  if (!inflater.ok()) return DecompressStatus::kCorrupt;
  z_stream& zs = inflater.stream();
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());

  // One byte beyond the limit lets us tell "exactly max_output" from "more than max_output".
  const std::size_t hard_cap = max_output == SIZE_MAX ? SIZE_MAX : max_output + 1;
  out.resize(std::min(hard_cap, std::max(kInitialInflateBytes, in.size() * 4)));
  std::size_t produced = 0;
  for (;;) {
    if (produced == out.size()) {
      if (out.size() >= hard_cap) return DecompressStatus::kTooLarge;
      out.resize(std::min(hard_cap, out.size() * 2));
    }
    const std::size_t room = std::min<std::size_t>(out.size() - produced, UINT_MAX);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (produced > max_output) return DecompressStatus::kTooLarge;
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      // Another gzip member follows; raw/zlib deflate must end here (trailing garbage).
      if (format != ZlibFormat::kGzip || inflateReset(&zs) != Z_OK) {
        return DecompressStatus::kCorrupt;
      }
      continue;
    }
    if (rc == Z_OK) continue;
    // Z_BUF_ERROR with output room left means the input ended before the stream did.
    if (rc == Z_BUF_ERROR && zs.avail_out == 0) continue;
    return DecompressStatus::kCorrupt;
  }
  out.resize(produced);
  return DecompressStatus::kOk;
}

}  // namespace mla::ingest
