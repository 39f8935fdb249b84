// The arithmetic shared by TokenBucket and AtomicTokenBucket, as pure functions over integers so
// both classes decide identically and it is testable without clocks or threads.
//
// A bucket is represented by one number, `zero_ns`: the time at which the bucket was (or will
// be) empty, i.e. tokens(now) = min(burst, (now - zero_ns) * rate). This is the GCRA / virtual
// scheduling form of a token bucket: consuming `cost` tokens moves zero_ns forward by cost/rate,
// refilling needs no update at all, and the whole state fits in one atomic int64. zero_ns > now
// means the bucket is in debt (negative tokens) after an oversized request.
#pragma once

#include <cstdint>

namespace mla::ratelimit {

// Spans (burst, cost) are capped at ~36 years so zero_ns arithmetic cannot overflow int64.
inline constexpr std::int64_t kMaxSpanNs = std::int64_t{1} << 60;
// zero_ns of a bucket that has never been used: far enough in the past to be full at any `now`.
inline constexpr std::int64_t kFullBucketZeroNs = -(std::int64_t{1} << 62);

// Immutable parameters of one bucket, derived from a rate and a burst.
struct BucketParams {
  bool unlimited = true;       // rate 0: every request is admitted, no state is touched
  double rate_per_second = 0;  // tokens per second (already divided by replicas)
  double burst = 0;            // bucket capacity in tokens
  double ns_per_token = 0;     // 1e9 / rate
  std::int64_t burst_ns = 0;   // time to refill an empty bucket: cost_ns(burst)

  // rate <= 0 → unlimited. burst <= 0 → one second of rate, at least one token (a bucket that
  // holds less than one token could never admit a request of cost 1).
  static BucketParams make(double rate_per_second, double burst);

  // ceil(cost / rate) in ns, capped at kMaxSpanNs; rounding up never admits more than the rate.
  std::int64_t cost_ns(double cost) const;

  bool operator==(const BucketParams&) const = default;
};

struct GcraStep {
  bool admitted = false;
  std::int64_t zero_ns = 0;  // new state (unchanged when not admitted)
  std::int64_t wait_ns = 0;  // when rejected: time until the request would be admitted
};

// One admission decision. Admitted when the bucket holds `cost_ns` worth of tokens, or when the
// cost exceeds the whole burst and the bucket is full (it is then left in debt, so an oversized
// batch is never starved). Otherwise rejected, with the time until it would be admitted.
GcraStep gcra_step(const BucketParams& params, std::int64_t zero_ns, std::int64_t now_ns,
                   std::int64_t cost_ns);

// zero_ns after giving back `cost_ns` (to undo a charge when a later bucket rejects).
std::int64_t gcra_refund(const BucketParams& params, std::int64_t zero_ns, std::int64_t now_ns,
                         std::int64_t cost_ns);

// zero_ns under `to` for a bucket that holds, at `now`, the tokens it holds under `from` with
// `zero_ns` (a debt stays a debt), so a new rate applies from now on without refilling or
// draining the bucket. Capped at `to`'s burst; a full bucket stays full(); a bucket that was or
// becomes unlimited starts full.
std::int64_t gcra_rescale(const BucketParams& from, std::int64_t zero_ns, std::int64_t now_ns,
                          const BucketParams& to);

// Tokens available at `now` (negative while in debt).
double gcra_available(const BucketParams& params, std::int64_t zero_ns, std::int64_t now_ns);

// Retry-After in whole seconds: ceil(wait), at least 1.
std::int64_t retry_after_seconds(std::int64_t wait_ns);

}  // namespace mla::ratelimit
