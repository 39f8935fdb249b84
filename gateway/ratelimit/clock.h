// Injected monotonic time for rate limiting, so tests step a fake clock instead of sleeping.
#pragma once

#include <chrono>

namespace mla::ratelimit {

// Nanoseconds on a monotonic clock with an arbitrary epoch; only differences are meaningful.
using MonoTime = std::chrono::nanoseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  // Thread-safe in every implementation.
  virtual MonoTime now() const = 0;
};

// std::chrono::steady_clock (CLOCK_MONOTONIC on Linux).
class SteadyClock final : public Clock {
 public:
  MonoTime now() const override {
    return std::chrono::duration_cast<MonoTime>(
        std::chrono::steady_clock::now().time_since_epoch());
  }
};

}  // namespace mla::ratelimit
