#include "gateway/ratelimit/token_bucket.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "gateway/ratelimit/atomic_token_bucket.h"
#include "gateway/ratelimit/fake_clock.h"

namespace mla::ratelimit {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("a bucket starts full and refills one token per 1/rate", "[ratelimit]") {
  FakeClock clock;
  TokenBucket bucket(1, 1);
  CHECK(bucket.try_consume(1, clock.now()).admitted);
  CHECK_FALSE(bucket.try_consume(1, clock.now()).admitted);
  clock.advance(milliseconds(999));
  CHECK_FALSE(bucket.try_consume(1, clock.now()).admitted);  // 999 ms: still 0 whole tokens
  clock.advance(milliseconds(1));
  CHECK(bucket.try_consume(1, clock.now()).admitted);
}

TEST_CASE("refill accumulates up to the burst and no further", "[ratelimit]") {
  FakeClock clock;
  TokenBucket bucket(1, 10);
  for (int i = 0; i < 10; ++i) REQUIRE(bucket.try_consume(1, clock.now()).admitted);
  CHECK_FALSE(bucket.try_consume(1, clock.now()).admitted);
  clock.advance(seconds(6));
  for (int i = 0; i < 6; ++i) CHECK(bucket.try_consume(1, clock.now()).admitted);
  CHECK_FALSE(bucket.try_consume(1, clock.now()).admitted);
  clock.advance(seconds(1000));
  CHECK(bucket.available(clock.now()) == Approx(10));
  CHECK(bucket.try_consume(10, clock.now()).admitted);
  CHECK_FALSE(bucket.try_consume(1, clock.now()).admitted);
}

TEST_CASE("a cost above the burst is admitted from a full bucket and leaves debt", "[ratelimit]") {
  FakeClock clock;
  TokenBucket bucket(10, 20);
  const Decision big = bucket.try_consume(50, clock.now());
  CHECK(big.admitted);
  CHECK(bucket.available(clock.now()) == Approx(-30));
  // One token needs the 30 of debt repaid plus 1: 3.1 s, so Retry-After 4.
  const Decision next = bucket.try_consume(1, clock.now());
  CHECK_FALSE(next.admitted);
  CHECK(next.retry_after_seconds == 4);
  clock.advance(milliseconds(3099));
  CHECK_FALSE(bucket.try_consume(1, clock.now()).admitted);
  clock.advance(milliseconds(1));
  CHECK(bucket.try_consume(1, clock.now()).admitted);
}

TEST_CASE("an oversized cost waits for a full bucket, never forever", "[ratelimit]") {
  FakeClock clock;
  TokenBucket bucket(10, 20);
  REQUIRE(bucket.try_consume(15, clock.now()).admitted);  // 5 left
  const Decision rejected = bucket.try_consume(100, clock.now());
  CHECK_FALSE(rejected.admitted);
  CHECK(rejected.retry_after_seconds == 2);  // 15 tokens to full at 10/s: 1.5 s
  clock.advance(milliseconds(1499));
  CHECK_FALSE(bucket.try_consume(100, clock.now()).admitted);
  clock.advance(milliseconds(1));
  CHECK(bucket.try_consume(100, clock.now()).admitted);
  CHECK(bucket.available(clock.now()) == Approx(-80));
}

TEST_CASE("Retry-After is the whole seconds until enough tokens, at least 1", "[ratelimit]") {
  struct Row {
    double rate;
    double burst;
    double drain;  // consumed first
    double cost;
    std::int64_t want;
  };
  const std::vector<Row> rows = {
      {10, 10, 10, 10, 1},              // exactly 1 s
      {10, 10, 10, 5, 1},               // 0.5 s rounds up to 1
      {10, 10, 10, 1, 1},               // 0.1 s
      {4, 10, 10, 10, 3},               // 2.5 s
      {5, 10, 10, 10, 2},               // exactly 2 s
      {0.5, 1, 1, 1, 2},                // fractional rate
      {1000, 50, 50, 1, 1},             // 1 ms
      {25000, 50000, 50000, 60000, 2},  // oversized: wait for full (50000 at 25000/s)
  };
  for (const Row& row : rows) {
    INFO("rate " << row.rate << " burst " << row.burst << " cost " << row.cost);
    FakeClock clock;
    TokenBucket bucket(row.rate, row.burst);
    REQUIRE(bucket.try_consume(row.drain, clock.now()).admitted);
    const Decision decision = bucket.try_consume(row.cost, clock.now());
    CHECK_FALSE(decision.admitted);
    CHECK(decision.retry_after_seconds == row.want);
  }
}

TEST_CASE("rate 0 is unlimited", "[ratelimit]") {
  FakeClock clock;
  TokenBucket bucket(0, 0);
  for (int i = 0; i < 100; ++i) CHECK(bucket.try_consume(1e12, clock.now()).admitted);
  CHECK(std::isinf(bucket.available(clock.now())));
}

TEST_CASE("a zero cost is admitted even in debt", "[ratelimit]") {
  FakeClock clock;
  TokenBucket bucket(1, 1);
  REQUIRE(bucket.try_consume(100, clock.now()).admitted);
  CHECK(bucket.try_consume(0, clock.now()).admitted);
  CHECK_FALSE(bucket.try_consume(1, clock.now()).admitted);
}

TEST_CASE("burst 0 means one second of rate, at least one token", "[ratelimit]") {
  CHECK(BucketParams::make(100, 0).burst == 100);
  CHECK(BucketParams::make(0.2, 0).burst == 1);
  CHECK(BucketParams::make(0, 50).unlimited);
}

TEST_CASE("refund gives tokens back but never beyond full", "[ratelimit]") {
  FakeClock clock;
  TokenBucket bucket(1, 10);
  REQUIRE(bucket.try_consume(4, clock.now()).admitted);
  CHECK(bucket.available(clock.now()) == Approx(6));
  bucket.refund(4, clock.now());
  CHECK(bucket.available(clock.now()) == Approx(10));
  bucket.refund(100, clock.now());
  CHECK(bucket.available(clock.now()) == Approx(10));
  REQUIRE(bucket.try_consume(25, clock.now()).admitted);  // debt
  bucket.refund(25, clock.now());
  CHECK(bucket.available(clock.now()) == Approx(10));
}

TEST_CASE("gcra_step decides on integer nanoseconds", "[ratelimit]") {
  const BucketParams params = BucketParams::make(1000, 5);  // 1 ms per token, 5 ms burst
  CHECK(params.burst_ns == 5'000'000);
  CHECK(params.cost_ns(1) == 1'000'000);
  const std::int64_t now = 10'000'000'000;
  // Full bucket: zero time is now - 5 ms; taking 2 tokens moves it 2 ms.
  GcraStep step = gcra_step(params, kFullBucketZeroNs, now, 2'000'000);
  CHECK(step.admitted);
  CHECK(step.zero_ns == now - 3'000'000);
  // 4 more tokens with 3 left: rejected, 1 ms to wait.
  step = gcra_step(params, step.zero_ns, now, 4'000'000);
  CHECK_FALSE(step.admitted);
  CHECK(step.wait_ns == 1'000'000);
  CHECK(retry_after_seconds(1) == 1);
  CHECK(retry_after_seconds(1'000'000'000) == 1);
  CHECK(retry_after_seconds(1'000'000'001) == 2);
}

TEST_CASE("AtomicTokenBucket decides exactly like TokenBucket", "[ratelimit]") {
  std::mt19937 rng(7);
  for (const auto& [rate, burst] : {std::pair{1.0, 1.0},
                                    {10.0, 20.0},
                                    {25000.0, 50000.0},
                                    {4194304.0 / 3, 6291456.0},
                                    {0.3, 2.0}}) {
    FakeClock clock;
    TokenBucket plain(rate, burst);
    AtomicTokenBucket atomic(rate, burst);
    std::uniform_real_distribution<double> cost(0, burst * 1.5);
    // Steps between 0 and two full refills, in microseconds.
    std::uniform_int_distribution<std::int64_t> step_us(
        0, static_cast<std::int64_t>(2e6 * burst / rate) + 1);
    for (int i = 0; i < 2000; ++i) {
      const double c = std::floor(cost(rng));
      const Decision a = plain.try_consume(c, clock.now());
      const Decision b = atomic.try_consume(c, clock.now());
      REQUIRE(a.admitted == b.admitted);
      REQUIRE(a.retry_after_seconds == b.retry_after_seconds);
      REQUIRE(plain.available(clock.now()) == atomic.available(clock.now()));
      clock.advance(std::chrono::microseconds(step_us(rng)));
    }
  }
}

TEST_CASE("full() tells when a bucket equals a fresh one", "[ratelimit]") {
  FakeClock clock;
  AtomicTokenBucket bucket(10, 10);
  CHECK(bucket.full(clock.now()));
  REQUIRE(bucket.try_consume(1, clock.now()).admitted);
  CHECK_FALSE(bucket.full(clock.now()));
  clock.advance(milliseconds(99));
  CHECK_FALSE(bucket.full(clock.now()));
  clock.advance(milliseconds(1));
  CHECK(bucket.full(clock.now()));
}

}  // namespace
}  // namespace mla::ratelimit
