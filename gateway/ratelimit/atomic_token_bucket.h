// TokenBucket's thread-safe twin: identical decisions (both use bucket_math.h), but the state is
// a single std::atomic<int64_t> updated with compare-and-swap, so any number of worker threads
// charge the same tenant without a lock. A CAS retry only happens when another thread changed the
// bucket in between; each attempt is a few integer operations.
//
// Thread-safety: all methods may be called concurrently. Parameters are immutable; to change a
// rate, build a new bucket.
#pragma once

#include <atomic>
#include <cstdint>

#include "gateway/ratelimit/bucket_math.h"
#include "gateway/ratelimit/clock.h"
#include "gateway/ratelimit/token_bucket.h"

namespace mla::ratelimit {

class AtomicTokenBucket {
 public:
  AtomicTokenBucket(double rate_per_second, double burst);
  explicit AtomicTokenBucket(const BucketParams& params) : params_(params) {}
  // A bucket with `params` that holds what `from` holds at `now` (gcra_rescale): how a new rate
  // reaches a live bucket. `from` must not be charged concurrently.
  AtomicTokenBucket(const BucketParams& params, const AtomicTokenBucket& from, MonoTime now);
  AtomicTokenBucket(const AtomicTokenBucket&) = delete;
  AtomicTokenBucket& operator=(const AtomicTokenBucket&) = delete;

  Decision try_consume(double cost, MonoTime now);
  void refund(double cost, MonoTime now);
  double available(MonoTime now) const;
  // True when the bucket holds `burst` tokens: its state equals a fresh bucket's, so dropping it
  // and creating a new one later loses nothing (used for idle-tenant eviction).
  bool full(MonoTime now) const;

  const BucketParams& params() const { return params_; }

 private:
  const BucketParams params_;
  // Time at which the bucket is empty (bucket_math.h). Relaxed ordering suffices: the value is
  // self-contained and no other memory is published through it.
  std::atomic<std::int64_t> zero_ns_{kFullBucketZeroNs};
};

}  // namespace mla::ratelimit
