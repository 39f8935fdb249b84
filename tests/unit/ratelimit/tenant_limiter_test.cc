#include "gateway/ratelimit/tenant_limiter.h"

#include <catch2/catch.hpp>
#include <string>

#include "gateway/ratelimit/fake_clock.h"

namespace mla::ratelimit {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

Cost samples(double n, double bytes = 0) { return {1, n, bytes}; }

LimitsConfig small_config() {
  LimitsConfig config;
  config.defaults.metrics.samples_per_second = 100;
  config.defaults.metrics.burst_samples = 200;
  config.defaults.logs.lines_per_second = 10;
  config.defaults.logs.burst_lines = 10;
  config.defaults.logs.bytes_per_second = 1000;
  config.defaults.logs.burst_bytes = 2000;
  config.defaults.queries.requests_per_second = 1;
  config.defaults.queries.burst_requests = 2;
  TenantLimits big = config.defaults;
  big.metrics.samples_per_second = 1000;
  big.metrics.burst_samples = 5000;
  config.overrides["cluster-abc"] = big;
  return config;
}

TEST_CASE("a tenant over its sample rate is rejected; others are unaffected", "[ratelimit]") {
  FakeClock clock;
  TenantLimiter limiter(small_config(), clock);
  CHECK(limiter.charge("a", Signal::kMetrics, samples(200)).admitted);
  const LimitDecision rejected = limiter.charge("a", Signal::kMetrics, samples(50));
  CHECK_FALSE(rejected.admitted);
  CHECK(rejected.resource == Resource::kUnits);
  CHECK(rejected.rate_per_second == 100);
  CHECK(rejected.burst == 200);
  CHECK(rejected.cost == 50);
  CHECK(rejected.retry_after_seconds == 1);
  CHECK(describe(rejected) ==
        "ingestion rate limit (100 samples/s, burst 200) exceeded while adding 50 samples");
  CHECK(limiter.charge("b", Signal::kMetrics, samples(200)).admitted);
  clock.advance(milliseconds(500));
  CHECK(limiter.charge("a", Signal::kMetrics, samples(50)).admitted);
}

TEST_CASE("overrides replace the defaults for their tenant", "[ratelimit]") {
  FakeClock clock;
  TenantLimiter limiter(small_config(), clock);
  CHECK(limiter.charge("cluster-abc", Signal::kMetrics, samples(5000)).admitted);
  CHECK_FALSE(limiter.charge("cluster-abc", Signal::kMetrics, samples(1)).admitted);
  CHECK(limiter.charge("other", Signal::kMetrics, samples(200)).admitted);
  CHECK_FALSE(limiter.charge("other", Signal::kMetrics, samples(1)).admitted);
}

TEST_CASE("rates are divided by replicas, bursts are not", "[ratelimit]") {
  LimitsConfig config = small_config();
  config.replicas = 4;
  FakeClock clock;
  TenantLimiter limiter(config, clock);
  REQUIRE(limiter.charge("a", Signal::kMetrics, samples(200)).admitted);
  clock.advance(seconds(1));  // 25 samples/s on this replica
  CHECK(limiter.charge("a", Signal::kMetrics, samples(25)).admitted);
  const LimitDecision rejected = limiter.charge("a", Signal::kMetrics, samples(1));
  CHECK_FALSE(rejected.admitted);
  CHECK(rejected.rate_per_second == 25);
  CHECK(rejected.burst == 200);
  const TenantBucketParams params = resolve_buckets(config.defaults, 0);  // 0 = 1 replica
  CHECK(params[bucket_index(Signal::kMetrics, Resource::kUnits)].rate_per_second == 100);
}

TEST_CASE("a rejection by a later bucket refunds the earlier ones", "[ratelimit]") {
  LimitsConfig config = small_config();
  config.defaults.metrics.requests_per_second = 1;
  config.defaults.metrics.burst_requests = 1;
  FakeClock clock;
  TenantLimiter limiter(config, clock);
  REQUIRE(limiter.charge("a", Signal::kMetrics, samples(150)).admitted);
  clock.advance(seconds(1));  // requests: 1 token; samples: 50 + 100 = 150
  const LimitDecision rejected = limiter.charge("a", Signal::kMetrics, samples(160));
  CHECK_FALSE(rejected.admitted);
  CHECK(rejected.resource == Resource::kUnits);
  // The request token was refunded, so a request that fits goes through.
  CHECK(limiter.charge("a", Signal::kMetrics, samples(150)).admitted);
  const LimitDecision requests = limiter.charge("a", Signal::kMetrics, samples(0));
  CHECK_FALSE(requests.admitted);
  CHECK(requests.resource == Resource::kRequests);
}

TEST_CASE("logs are limited on lines and on bytes; queries on requests", "[ratelimit]") {
  FakeClock clock;
  TenantLimiter limiter(small_config(), clock);
  REQUIRE(limiter.charge("t", Signal::kLogs, {1, 10, 100}).admitted);
  const LimitDecision lines = limiter.charge("t", Signal::kLogs, {1, 1, 10});
  CHECK_FALSE(lines.admitted);
  CHECK(lines.resource == Resource::kUnits);
  CHECK(describe(lines) ==
        "log ingestion rate limit (10 lines/s, burst 10) exceeded while adding 1 lines");
  clock.advance(seconds(1));
  CHECK(limiter.charge("t", Signal::kLogs, {1, 5, 2000}).admitted);
  const LimitDecision bytes = limiter.charge("t", Signal::kLogs, {1, 1, 500});
  CHECK_FALSE(bytes.admitted);
  CHECK(bytes.resource == Resource::kBytes);
  CHECK(bytes.retry_after_seconds == 1);
  CHECK(limiter.charge("t", Signal::kQueries, {}).admitted);
  CHECK(limiter.charge("t", Signal::kQueries, {}).admitted);
  const LimitDecision queries = limiter.charge("t", Signal::kQueries, {});
  CHECK_FALSE(queries.admitted);
  CHECK(describe(queries) ==
        "query rate limit (1 requests/s, burst 2) exceeded while adding 1 requests");
  // Metrics of the same tenant are separate buckets.
  CHECK(limiter.charge("t", Signal::kMetrics, samples(200)).admitted);
}

TEST_CASE("idle tenants with full buckets are evicted; others are kept", "[ratelimit]") {
  FakeClock clock;
  TenantLimiter limiter(small_config(), clock, {minutes(5), 1000});
  REQUIRE(limiter.charge("busy", Signal::kMetrics, samples(1)).admitted);
  REQUIRE(limiter.charge("indebted", Signal::kMetrics, samples(1'000'000)).admitted);
  CHECK(limiter.tenant_count() == 2);
  clock.advance(minutes(4));
  CHECK(limiter.evict_idle() == 0);  // not idle long enough
  REQUIRE(limiter.charge("busy", Signal::kMetrics, samples(1)).admitted);
  clock.advance(minutes(2));
  // "indebted" is idle but still repaying 999,800 samples at 100/s: its state must survive.
  CHECK(limiter.evict_idle() == 0);
  clock.advance(minutes(5));
  CHECK(limiter.evict_idle() == 1);  // "busy" is idle and full now
  CHECK(limiter.tenant_count() == 1);
  CHECK_FALSE(limiter.charge("indebted", Signal::kMetrics, samples(1)).admitted);
  clock.advance(seconds(10'000));
  CHECK(limiter.evict_idle() == 1);
  CHECK(limiter.tenant_count() == 0);
}

TEST_CASE("the number of tenants is bounded", "[ratelimit]") {
  FakeClock clock;
  TenantLimiter limiter(small_config(), clock, {minutes(5), 64});
  for (int i = 0; i < 5000; ++i) {
    limiter.charge("tenant-" + std::to_string(i), Signal::kMetrics, samples(1));
    clock.advance(milliseconds(1));
  }
  // ceil(1.25 * 64 / 64) = 2 per shard.
  CHECK(limiter.tenant_count() <= 2 * TenantLimiter::kShards);
  CHECK(limiter.tenant_count() >= TenantLimiter::kShards);
}

TEST_CASE("config update keeps unchanged tenants and rebuilds changed ones", "[ratelimit]") {
  FakeClock clock;
  LimitsConfig config = small_config();
  TenantLimiter limiter(config, clock);
  REQUIRE(limiter.charge("a", Signal::kMetrics, samples(200)).admitted);
  REQUIRE(limiter.charge("cluster-abc", Signal::kMetrics, samples(5000)).admitted);
  config.overrides["cluster-abc"].metrics.samples_per_second = 2000;
  limiter.update_config(config);
  CHECK(limiter.config()->overrides.at("cluster-abc").metrics.samples_per_second == 2000);
  CHECK_FALSE(limiter.charge("a", Signal::kMetrics, samples(1)).admitted);  // state kept
  const LimitDecision fresh = limiter.charge("cluster-abc", Signal::kMetrics, samples(5000));
  CHECK(fresh.admitted);  // new limits, new bucket
  const LimitDecision after = limiter.charge("cluster-abc", Signal::kMetrics, samples(1));
  CHECK(after.rate_per_second == 2000);
}

TEST_CASE("snapshot lists the limited buckets of live tenants", "[ratelimit]") {
  FakeClock clock;
  TenantLimiter limiter(small_config(), clock);
  REQUIRE(limiter.charge("b", Signal::kMetrics, samples(50)).admitted);
  REQUIRE(limiter.charge("a", Signal::kLogs, {1, 1, 100}).admitted);
  const auto tenants = limiter.snapshot();
  REQUIRE(tenants.size() == 2);
  CHECK(tenants[0].tenant == "a");
  CHECK(tenants[1].tenant == "b");
  // defaults limit metrics samples, logs lines and bytes, and queries: 4 buckets.
  REQUIRE(tenants[1].buckets.size() == 4);
  CHECK(tenants[1].buckets[0].signal == Signal::kMetrics);
  CHECK(tenants[1].buckets[0].resource == Resource::kUnits);
  CHECK(tenants[1].buckets[0].available == Approx(150));
}

}  // namespace
}  // namespace mla::ratelimit

namespace mla::ratelimit {
namespace {

TEST_CASE("a DNS replica count changes live tenants' rates and keeps their tokens",
          "[ratelimit][replicas]") {
  LimitsConfig config = small_config();  // 100 samples/s, burst 200
  config.replicas = 2;
  FakeClock clock;
  std::vector<std::uint32_t> published;
  TenantLimiter limiter(config, clock,
                        {.on_replicas = [&](std::uint32_t n) { published.push_back(n); }});
  CHECK(limiter.replicas() == 2);
  REQUIRE(limiter.charge("a", Signal::kMetrics, samples(150)).admitted);  // 50 left

  limiter.set_dns_replicas(4);  // 25 samples/s on this replica
  CHECK(limiter.replicas() == 4);
  CHECK(limiter.charge("a", Signal::kMetrics, samples(50)).admitted);  // the 50 were kept
  const LimitDecision rejected = limiter.charge("a", Signal::kMetrics, samples(25));
  CHECK_FALSE(rejected.admitted);
  CHECK(rejected.rate_per_second == 25);
  CHECK(rejected.burst == 200);  // bursts are not divided
  clock.advance(seconds(1));
  CHECK(limiter.charge("a", Signal::kMetrics, samples(25)).admitted);
  CHECK(limiter.charge("new", Signal::kMetrics, samples(200)).admitted);
  CHECK(limiter.charge("new", Signal::kMetrics, samples(1)).rate_per_second == 25);

  limiter.set_dns_replicas(1);
  CHECK(limiter.charge("a", Signal::kMetrics, samples(1)).rate_per_second == 100);
  limiter.set_dns_replicas(0);  // no DNS count any more: limits.replicas again
  CHECK(limiter.replicas() == 2);
  CHECK(limiter.charge("a", Signal::kMetrics, samples(1000)).rate_per_second == 50);
  CHECK(published == std::vector<std::uint32_t>{2, 4, 1, 2});
}

TEST_CASE("a config reload keeps the DNS replica count; a limits change still starts full",
          "[ratelimit][replicas]") {
  LimitsConfig config = small_config();
  FakeClock clock;
  TenantLimiter limiter(config, clock);
  limiter.set_dns_replicas(4);
  REQUIRE(limiter.charge("a", Signal::kMetrics, samples(200)).admitted);
  REQUIRE(limiter.charge("cluster-abc", Signal::kMetrics, samples(5000)).admitted);
  config.replicas = 3;  // the static fallback changes; the DNS count still wins
  config.overrides["cluster-abc"].metrics.samples_per_second = 2000;
  limiter.update_config(config);
  CHECK(limiter.replicas() == 4);
  const LimitDecision a = limiter.charge("a", Signal::kMetrics, samples(1));
  CHECK_FALSE(a.admitted);  // unchanged limits: state kept
  CHECK(a.rate_per_second == 25);
  CHECK(limiter.charge("cluster-abc", Signal::kMetrics, samples(5000)).admitted);  // new, full
  CHECK(limiter.charge("cluster-abc", Signal::kMetrics, samples(1)).rate_per_second == 500);
  limiter.set_dns_replicas(0);
  CHECK(limiter.replicas() == 3);
}

TEST_CASE("an idle tenant rescaled while full is still evicted", "[ratelimit][replicas]") {
  FakeClock clock;
  TenantLimiter limiter(small_config(), clock, {minutes(1), 1000});
  REQUIRE(limiter.charge("a", Signal::kMetrics, samples(1)).admitted);
  clock.advance(minutes(2));
  limiter.set_dns_replicas(3);
  CHECK(limiter.evict_idle() == 1);
}

}  // namespace
}  // namespace mla::ratelimit
