#include "gateway/ratelimit/atomic_token_bucket.h"

namespace mla::ratelimit {

AtomicTokenBucket::AtomicTokenBucket(double rate_per_second, double burst)
    : params_(BucketParams::make(rate_per_second, burst)) {}

AtomicTokenBucket::AtomicTokenBucket(const BucketParams& params, const AtomicTokenBucket& from,
                                     MonoTime now)
    : params_(params),
      zero_ns_(gcra_rescale(from.params_, from.zero_ns_.load(std::memory_order_relaxed),
                            now.count(), params)) {}

Decision AtomicTokenBucket::try_consume(double cost, MonoTime now) {
  if (params_.unlimited) return {};
  const std::int64_t cost_ns = params_.cost_ns(cost);
  if (cost_ns == 0) return {};
  std::int64_t current = zero_ns_.load(std::memory_order_relaxed);
  for (;;) {
    const GcraStep step = gcra_step(params_, current, now.count(), cost_ns);
    if (!step.admitted) return {false, retry_after_seconds(step.wait_ns)};
    // On failure `current` is reloaded and the decision is made again on the fresh state.
    if (zero_ns_.compare_exchange_weak(current, step.zero_ns, std::memory_order_relaxed)) {
      return {};
    }
  }
}

void AtomicTokenBucket::refund(double cost, MonoTime now) {
  if (params_.unlimited) return;
  const std::int64_t cost_ns = params_.cost_ns(cost);
  std::int64_t current = zero_ns_.load(std::memory_order_relaxed);
  while (!zero_ns_.compare_exchange_weak(
      current, gcra_refund(params_, current, now.count(), cost_ns), std::memory_order_relaxed)) {
  }
}

double AtomicTokenBucket::available(MonoTime now) const {
  return gcra_available(params_, zero_ns_.load(std::memory_order_relaxed), now.count());
}

bool AtomicTokenBucket::full(MonoTime now) const {
  if (params_.unlimited) return true;
  return zero_ns_.load(std::memory_order_relaxed) <= now.count() - params_.burst_ns;
}

}  // namespace mla::ratelimit
