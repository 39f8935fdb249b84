#include "gateway/http2/flood_guard.h"

#include <nghttp2/nghttp2.h>

#include <catch2/catch.hpp>
#include <chrono>

namespace mla::http2 {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("stream resets beyond the burst are a flood, and the budget refills", "[http2]") {
  FloodGuard guard;
  const ratelimit::MonoTime start = seconds(100);
  for (int i = 0; i < FloodGuard::kResetBurst; ++i) {
    REQUIRE_FALSE(guard.on_stream_reset(start).has_value());
  }
  CHECK(guard.on_stream_reset(start).value() == "too many stream resets");
  // 20/s: after 100 ms, two more resets are allowed, not a third.
  CHECK_FALSE(guard.on_stream_reset(start + milliseconds(100)).has_value());
  CHECK_FALSE(guard.on_stream_reset(start + milliseconds(100)).has_value());
  CHECK(guard.on_stream_reset(start + milliseconds(100)).has_value());
}

TEST_CASE("control frames have their own budget", "[http2]") {
  FloodGuard guard;
  const ratelimit::MonoTime start = seconds(5);
  for (int i = 0; i < FloodGuard::kControlBurst; ++i) {
    REQUIRE_FALSE(guard.on_control_frame(start).has_value());
  }
  CHECK(guard.on_control_frame(start).has_value());
  CHECK_FALSE(guard.on_stream_reset(start).has_value());  // resets are counted apart
  CHECK_FALSE(guard.on_control_frame(start + seconds(1)).has_value());
}

TEST_CASE("CONTINUATION frames are counted per header block", "[http2]") {
  FloodGuard guard;
  CHECK_FALSE(guard.on_frame_header(NGHTTP2_HEADERS).has_value());
  for (int i = 0; i < FloodGuard::kMaxContinuations; ++i) {
    REQUIRE_FALSE(guard.on_frame_header(NGHTTP2_CONTINUATION).has_value());
  }
  CHECK(guard.on_frame_header(NGHTTP2_CONTINUATION).value() == "too many CONTINUATION frames");

  FloodGuard next_block;
  for (int block = 0; block < 3; ++block) {
    CHECK_FALSE(next_block.on_frame_header(NGHTTP2_HEADERS).has_value());
    for (int i = 0; i < FloodGuard::kMaxContinuations; ++i) {
      REQUIRE_FALSE(next_block.on_frame_header(NGHTTP2_CONTINUATION).has_value());
    }
  }
}

}  // namespace
}  // namespace mla::http2
