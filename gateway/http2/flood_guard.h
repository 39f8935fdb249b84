// Per-connection budgets against HTTP/2 frames that cost the server work while costing the
// client nothing: rapid stream resets (CVE-2023-44487, and resets the server is made to send,
// CVE-2025-8671), PING/SETTINGS/PRIORITY and empty DATA floods (CVE-2019-9512/9515/9516/9518) and
// CONTINUATION floods (CVE-2024-27316 and relatives). A spent budget ends the connection with
// GOAWAY ENHANCE_YOUR_CALM. Pure: time is passed in; one connection's thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "gateway/ratelimit/clock.h"
#include "gateway/ratelimit/token_bucket.h"

namespace mla::http2 {

class FloodGuard {
 public:
  // Streams ended by a reset (either side) before their answer was sent: a burst of 100, then 20/s.
  // Legitimate clients cancel rarely; nghttp2's own default (1000, 33/s) stays as a backstop.
  static constexpr double kResetBurst = 100;
  static constexpr double kResetsPerSecond = 20;
  // PING, SETTINGS and PRIORITY frames and empty DATA frames without END_STREAM: a burst of 100,
  // then 10/s. Clients send a handful per connection (SETTINGS once, PINGs for health checks).
  static constexpr double kControlBurst = 100;
  static constexpr double kControlPerSecond = 10;
  // CONTINUATION frames after one HEADERS frame. With 16 KiB frames, 8 carry more than the 64 KiB
  // header list we advertise; the flood variants send thousands of tiny ones.
  static constexpr int kMaxContinuations = 8;

  FloodGuard();

  // Each returns the reason to send GOAWAY ENHANCE_YOUR_CALM with, or nothing.
  std::optional<std::string_view> on_stream_reset(ratelimit::MonoTime now);
  std::optional<std::string_view> on_control_frame(ratelimit::MonoTime now);
  // Every received frame header: counts CONTINUATION frames of the current header block.
  std::optional<std::string_view> on_frame_header(std::uint8_t type);

 private:
  ratelimit::TokenBucket resets_;
  ratelimit::TokenBucket control_;
  int continuations_ = 0;
};

}  // namespace mla::http2
