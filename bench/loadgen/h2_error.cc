#include "bench/loadgen/h2_error.h"

#include <nghttp2/nghttp2.h>

#include <string>

namespace mla::bench {
namespace {

// Values: H2Error (1..99), kStreamBase + HTTP/2 error code, or a negative nghttp2_error.
constexpr int kStreamBase = 1000;

class H2ErrorCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "mla-loadgen-h2"; }

  std::string message(int value) const override {
    if (value < 0) return std::string("nghttp2: ") + nghttp2_strerror(value);
    if (value >= kStreamBase) {
      return std::string("stream closed by the server: ") +
             nghttp2_http2_strerror(static_cast<std::uint32_t>(value - kStreamBase));
    }
    switch (static_cast<H2Error>(value)) {
      case H2Error::kAlpnNotSelected:
        return "the server did not select ALPN h2 (no HTTP/2 on this listener?)";
      case H2Error::kNoStatus: return "stream ended without a :status";
      case H2Error::kResponseTooLarge: return "response body over 1 MiB";
      case H2Error::kGoaway: return "the server sent GOAWAY";
    }
    return "unknown HTTP/2 error " + std::to_string(value);
  }
};

const H2ErrorCategory& category() {
  static const H2ErrorCategory instance;
  return instance;
}

}  // namespace

error_code make_error(H2Error error) { return {static_cast<int>(error), category()}; }

error_code stream_closed_error(std::uint32_t http2_code) {
  return {kStreamBase + static_cast<int>(http2_code & 0xffff), category()};
}

error_code nghttp2_library_error(int code) { return {code, category()}; }

bool is_refused(const error_code& error) {
  return error == stream_closed_error(NGHTTP2_REFUSED_STREAM) ||
         error == nghttp2_library_error(NGHTTP2_ERR_START_STREAM_NOT_ALLOWED) ||
         error == make_error(H2Error::kGoaway);
}

}  // namespace mla::bench
