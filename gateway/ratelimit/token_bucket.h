// A token bucket for one owner thread (see AtomicTokenBucket for the shared variant with the same
// decisions). Time is passed in, so the class is pure and tested with a fake clock.
//
// Semantics (DESIGN.md §4): refills continuously at `rate` tokens/s up to `burst`; starts full;
// rate 0 = unlimited; a request costing more than the burst is admitted only from a full bucket
// and leaves it in debt (negative tokens) until repaid; a request costing 0 is always admitted;
// a rejected request consumes nothing and gets Retry-After = whole seconds until it would be
// admitted (at least 1).
#pragma once

#include <cstdint>

#include "gateway/ratelimit/bucket_math.h"
#include "gateway/ratelimit/clock.h"

namespace mla::ratelimit {

struct Decision {
  bool admitted = true;
  std::int64_t retry_after_seconds = 0;  // > 0 exactly when !admitted
};

class TokenBucket {
 public:
  // rate_per_second <= 0 = unlimited; burst <= 0 = one second of rate (at least 1 token).
  TokenBucket(double rate_per_second, double burst);
  explicit TokenBucket(const BucketParams& params) : params_(params) {}

  Decision try_consume(double cost, MonoTime now);
  // Gives back tokens taken by an admitted try_consume (never beyond a full bucket).
  void refund(double cost, MonoTime now);
  // Tokens available at `now`; negative while in debt, +inf when unlimited.
  double available(MonoTime now) const;

  const BucketParams& params() const { return params_; }

 private:
  BucketParams params_;
  std::int64_t zero_ns_ = kFullBucketZeroNs;  // see bucket_math.h
};

}  // namespace mla::ratelimit
