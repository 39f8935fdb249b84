#include "gateway/ratelimit/bucket_math.h"

#include <algorithm>
#include <cmath>

namespace mla::ratelimit {
namespace {

constexpr double kNsPerSecond = 1e9;

}  // namespace

BucketParams BucketParams::make(double rate_per_second, double burst) {
  BucketParams params;
  if (!(rate_per_second > 0)) return params;  // also catches NaN
  params.unlimited = false;
  params.rate_per_second = rate_per_second;
  params.burst = burst > 0 ? burst : std::max(rate_per_second, 1.0);
  params.ns_per_token = kNsPerSecond / rate_per_second;
  params.burst_ns = params.cost_ns(params.burst);
  return params;
}

std::int64_t BucketParams::cost_ns(double cost) const {
  if (!(cost > 0)) return 0;
  const double ns = std::ceil(cost * ns_per_token);
  if (!(ns < static_cast<double>(kMaxSpanNs))) return kMaxSpanNs;
  return static_cast<std::int64_t>(ns);
}

GcraStep gcra_step(const BucketParams& params, std::int64_t zero_ns, std::int64_t now_ns,
                   std::int64_t cost_ns) {
  // A bucket cannot hold more than burst: tokens that would overflow are lost.
  const std::int64_t full_at = now_ns - params.burst_ns;
  const std::int64_t effective = std::max(zero_ns, full_at);
  const std::int64_t next = effective + cost_ns;
  if (next <= now_ns) return {true, next, 0};
  if (cost_ns > params.burst_ns && effective == full_at) return {true, next, 0};
  // Wait until the bucket holds the cost, or is full for an oversized cost.
  const std::int64_t needed = std::min(cost_ns, params.burst_ns);
  return {false, zero_ns, effective + needed - now_ns};
}

std::int64_t gcra_refund(const BucketParams& params, std::int64_t zero_ns, std::int64_t now_ns,
                         std::int64_t cost_ns) {
  // Never more than full; clamping here also keeps the subtraction far from underflow.
  return std::max(zero_ns - cost_ns, now_ns - params.burst_ns);
}

std::int64_t gcra_rescale(const BucketParams& from, std::int64_t zero_ns, std::int64_t now_ns,
                          const BucketParams& to) {
  if (from.unlimited || to.unlimited) return kFullBucketZeroNs;
  const std::int64_t effective = std::max(zero_ns, now_ns - from.burst_ns);
  const double tokens = static_cast<double>(now_ns - effective) / from.ns_per_token;
  if (!(tokens < to.burst)) return kFullBucketZeroNs;
  // Rounded down: the rescaled bucket never holds more than the old one did.
  const double span = std::floor(tokens * to.ns_per_token);  // < burst_ns; negative in debt
  if (!(span > -static_cast<double>(kMaxSpanNs))) return now_ns + kMaxSpanNs;
  return now_ns - static_cast<std::int64_t>(span);
}

double gcra_available(const BucketParams& params, std::int64_t zero_ns, std::int64_t now_ns) {
  if (params.unlimited) return INFINITY;
  const std::int64_t effective = std::max(zero_ns, now_ns - params.burst_ns);
  return static_cast<double>(now_ns - effective) / params.ns_per_token;
}

std::int64_t retry_after_seconds(std::int64_t wait_ns) {
  constexpr std::int64_t kNs = 1'000'000'000;
  return std::max<std::int64_t>(1, (wait_ns + kNs - 1) / kNs);
}

}  // namespace mla::ratelimit
