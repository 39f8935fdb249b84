#include "gateway/ratelimit/replica_count.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "gateway/ratelimit/atomic_token_bucket.h"
#include "gateway/ratelimit/bucket_math.h"
#include "gateway/ratelimit/fake_clock.h"

namespace mla::ratelimit {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Addresses = std::vector<std::string>;

TEST_CASE("the divisor is the DNS count once there is one, else limits.replicas, at least 1",
          "[ratelimit][replicas]") {
  CHECK(effective_replicas(3, 0) == 3);
  CHECK(effective_replicas(3, 5) == 5);
  CHECK(effective_replicas(3, 1) == 1);
  CHECK(effective_replicas(0, 0) == 1);
}

TEST_CASE("replicas are counted from distinct addresses of the larger family",
          "[ratelimit][replicas]") {
  struct Case {
    std::string name;
    Addresses ipv4;
    Addresses ipv6;
    std::uint32_t want;
  };
  const std::vector<Case> cases = {
      {"one A", {"10.0.0.1"}, {}, 1},
      {"four A", {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}, {}, 4},
      {"duplicates", {"10.0.0.2", "10.0.0.1", "10.0.0.2", "10.0.0.1"}, {}, 2},
      {"AAAA only", {}, {"fd00::1", "fd00::2", "fd00::3"}, 3},
      {"dual-stack pods count once", {"10.0.0.1", "10.0.0.2"}, {"fd00::1", "fd00::2"}, 2},
      {"families differ: the larger", {"10.0.0.1"}, {"fd00::1", "fd00::2"}, 2},
      {"nothing: at least 1", {}, {}, 1},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(count_replicas(c.ipv4, c.ipv6) == c.want);
  }
}

TEST_CASE("a failed lookup keeps the last count; a new name forgets it", "[ratelimit][replicas]") {
  DnsReplicaCount count;
  count.reset("gw.test");
  CHECK(count.count() == 0);  // limits.replicas applies
  count.failed();
  CHECK(count.count() == 0);
  CHECK(count.failures_in_a_row() == 1);
  count.succeeded(4);
  CHECK(count.count() == 4);
  CHECK(count.failures_in_a_row() == 0);
  count.failed();
  count.failed();
  CHECK(count.count() == 4);
  CHECK(count.failures_in_a_row() == 2);
  count.succeeded(2);
  CHECK(count.count() == 2);
  count.succeeded(0);
  CHECK(count.count() == 1);
  count.reset("other.test");
  CHECK(count.name() == "other.test");
  CHECK(count.count() == 0);
}

TEST_CASE("gcra_rescale keeps the tokens a bucket holds under a new rate",
          "[ratelimit][replicas]") {
  const std::int64_t now = 100'000'000'000;
  const BucketParams fast = BucketParams::make(100, 200);  // 10 ms per token
  const BucketParams slow = BucketParams::make(25, 200);   // 40 ms per token, same burst
  // Full stays full (and exactly so: eviction relies on it).
  CHECK(gcra_rescale(fast, kFullBucketZeroNs, now, slow) == kFullBucketZeroNs);
  // 50 tokens left: 50 tokens under the new rate.
  const std::int64_t half = now - 50 * 10'000'000;
  CHECK(gcra_available(slow, gcra_rescale(fast, half, now, slow), now) == Approx(50));
  CHECK(gcra_available(fast, gcra_rescale(slow, now - 50 * 40'000'000, now, fast), now) ==
        Approx(50));
  // A debt of 30 tokens stays a debt of 30 tokens (now 1.2 s to pay back instead of 0.3 s).
  const std::int64_t debt = now + 30 * 10'000'000;
  const std::int64_t rescaled = gcra_rescale(fast, debt, now, slow);
  CHECK(gcra_available(slow, rescaled, now) == Approx(-30));
  CHECK(rescaled - now == 30 * 40'000'000);
  // Capped at the new burst; unlimited on either side starts full.
  const BucketParams small = BucketParams::make(25, 20);
  CHECK(gcra_rescale(fast, half, now, small) == kFullBucketZeroNs);
  CHECK(gcra_rescale(BucketParams{}, half, now, slow) == kFullBucketZeroNs);
  CHECK(gcra_rescale(fast, half, now, BucketParams{}) == kFullBucketZeroNs);
}

TEST_CASE("a rescaled AtomicTokenBucket refills at the new rate from the old level",
          "[ratelimit][replicas]") {
  FakeClock clock;
  AtomicTokenBucket old_bucket(BucketParams::make(100, 200));
  REQUIRE(old_bucket.try_consume(150, clock.now()).admitted);  // 50 left
  AtomicTokenBucket bucket(BucketParams::make(25, 200), old_bucket, clock.now());
  CHECK(bucket.available(clock.now()) == Approx(50));
  CHECK_FALSE(bucket.try_consume(51, clock.now()).admitted);
  clock.advance(seconds(1));  // +25, not +100
  CHECK(bucket.available(clock.now()) == Approx(75));
  CHECK_FALSE(bucket.full(clock.now()));
  clock.advance(milliseconds(5000));
  CHECK(bucket.full(clock.now()));
}

}  // namespace
}  // namespace mla::ratelimit
