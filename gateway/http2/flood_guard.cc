#include "gateway/http2/flood_guard.h"

#include <nghttp2/nghttp2.h>

namespace mla::http2 {

FloodGuard::FloodGuard()
    : resets_(kResetsPerSecond, kResetBurst), control_(kControlPerSecond, kControlBurst) {}

std::optional<std::string_view> FloodGuard::on_stream_reset(ratelimit::MonoTime now) {
  if (resets_.try_consume(1, now).admitted) return std::nullopt;
  return "too many stream resets";
}

std::optional<std::string_view> FloodGuard::on_control_frame(ratelimit::MonoTime now) {
  if (control_.try_consume(1, now).admitted) return std::nullopt;
  return "too many PING, SETTINGS, PRIORITY or empty DATA frames";
}

std::optional<std::string_view> FloodGuard::on_frame_header(std::uint8_t type) {
  if (type != NGHTTP2_CONTINUATION) {
    continuations_ = 0;
    return std::nullopt;
  }
  if (++continuations_ <= kMaxContinuations) return std::nullopt;
  return "too many CONTINUATION frames";
}

}  // namespace mla::http2
