// A Clock that only moves when told to. For tests; safe to read from many threads while one
// thread advances it (an atomic, no locks).
#pragma once

#include <atomic>
#include <cstdint>

#include "gateway/ratelimit/clock.h"

namespace mla::ratelimit {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(MonoTime start = MonoTime{1'000'000'000'000}) : now_ns_(start.count()) {}

  MonoTime now() const override { return MonoTime{now_ns_.load(std::memory_order_acquire)}; }

  void advance(MonoTime step) { now_ns_.fetch_add(step.count(), std::memory_order_acq_rel); }
  void set(MonoTime at) { now_ns_.store(at.count(), std::memory_order_release); }

 private:
  std::atomic<std::int64_t> now_ns_;
};

}  // namespace mla::ratelimit
