#include "gateway/ratelimit/token_bucket.h"

namespace mla::ratelimit {

TokenBucket::TokenBucket(double rate_per_second, double burst)
    : params_(BucketParams::make(rate_per_second, burst)) {}

Decision TokenBucket::try_consume(double cost, MonoTime now) {
  if (params_.unlimited) return {};
  const std::int64_t cost_ns = params_.cost_ns(cost);
  if (cost_ns == 0) return {};
  const GcraStep step = gcra_step(params_, zero_ns_, now.count(), cost_ns);
  if (!step.admitted) return {false, retry_after_seconds(step.wait_ns)};
  zero_ns_ = step.zero_ns;
  return {};
}

void TokenBucket::refund(double cost, MonoTime now) {
  if (params_.unlimited) return;
  zero_ns_ = gcra_refund(params_, zero_ns_, now.count(), params_.cost_ns(cost));
}

double TokenBucket::available(MonoTime now) const {
  return gcra_available(params_, zero_ns_, now.count());
}

}  // namespace mla::ratelimit
