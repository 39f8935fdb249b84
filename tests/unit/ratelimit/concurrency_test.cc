// Many threads charging shared buckets. Time comes from a FakeClock advanced between phases, so
// the expected totals are exact integers, not timing-dependent estimates. Meant to run under
// TSan too (-DMLA_SANITIZE=thread).
#include <atomic>
#include <barrier>
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gateway/ratelimit/atomic_token_bucket.h"
#include "gateway/ratelimit/fake_clock.h"
#include "gateway/ratelimit/tenant_limiter.h"

namespace mla::ratelimit {
namespace {

using std::chrono::milliseconds;

constexpr int kThreads = 4;

TEST_CASE("AtomicTokenBucket admits exactly burst + rate * elapsed across threads",
          "[ratelimit][concurrency]") {
  constexpr int kPhases = 50;
  constexpr int kTokensPerPhase = 7;  // 7 ms at 1000 tokens/s
  FakeClock clock;
  AtomicTokenBucket bucket(1000, 50);  // 1 ms per token: exact in integer ns
  std::atomic<std::int64_t> admitted{0};
  // Each phase: every thread takes tokens until it sees a rejection (the bucket is then empty
  // and stays empty while the clock stands still); then the clock moves.
  std::barrier sync(kThreads, [&]() noexcept { clock.advance(milliseconds(kTokensPerPhase)); });
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int phase = 0; phase <= kPhases; ++phase) {
        std::int64_t mine = 0;
        while (bucket.try_consume(1, clock.now()).admitted) ++mine;
        admitted.fetch_add(mine, std::memory_order_relaxed);
        sync.arrive_and_wait();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(admitted.load() == 50 + kPhases * kTokensPerPhase);
}

TEST_CASE("AtomicTokenBucket never admits more than burst + rate * elapsed with mixed costs",
          "[ratelimit][concurrency]") {
  constexpr int kPhases = 40;
  FakeClock clock;
  AtomicTokenBucket bucket(1000, 100);
  std::atomic<std::int64_t> admitted{0};
  std::barrier sync(kThreads, [&]() noexcept { clock.advance(milliseconds(13)); });
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::uniform_int_distribution<int> cost(1, 9);
      for (int phase = 0; phase <= kPhases; ++phase) {
        for (int i = 0; i < 200; ++i) {
          const int c = cost(rng);
          if (bucket.try_consume(c, clock.now()).admitted) admitted.fetch_add(c);
        }
        sync.arrive_and_wait();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const std::int64_t ceiling = 100 + kPhases * 13;
  CHECK(admitted.load() <= ceiling);
  CHECK(admitted.load() >=
        ceiling - std::int64_t{9} * (kPhases + 1));  // at most one partial cost per phase
}

TEST_CASE("TenantLimiter is shared by threads while tenants come, go and configs change",
          "[ratelimit][concurrency]") {
  constexpr int kTenants = 40;
  constexpr int kRounds = 3000;
  LimitsConfig config;
  config.defaults.metrics.samples_per_second = 1000;
  config.defaults.metrics.burst_samples = 500;
  FakeClock clock;
  TenantLimiter limiter(config, clock, {milliseconds(1), 1000});
  std::vector<std::atomic<std::int64_t>> admitted(kTenants);
  std::atomic<bool> stop{false};

  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      std::uniform_int_distribution<int> tenant(0, kTenants - 1);
      std::uniform_int_distribution<int> cost(1, 50);
      for (int i = 0; i < kRounds; ++i) {
        const int id = tenant(rng);
        const int c = cost(rng);
        if (limiter.charge("tenant-" + std::to_string(id), Signal::kMetrics, {1, double(c), 0})
                .admitted) {
          admitted[id].fetch_add(c, std::memory_order_relaxed);
        }
      }
    });
  }
  // Background: time moves, idle tenants are evicted, the (unchanged) config is re-installed
  // and the admin view is read, all concurrently with charging.
  std::atomic<std::int64_t> elapsed_ms{0};
  std::thread background([&] {
    while (!stop.load()) {
      clock.advance(milliseconds(1));
      elapsed_ms.fetch_add(1);
      limiter.evict_idle();
      limiter.update_config(config);
      (void)limiter.snapshot();
      (void)limiter.tenant_count();
      std::this_thread::yield();
    }
  });
  for (auto& thread : threads) thread.join();
  stop = true;
  background.join();

  // Eviction only drops full buckets and the config never changed, so no tenant can have got
  // more than its burst plus what accrued while the clock moved.
  const std::int64_t ceiling = 500 + 1000 * elapsed_ms.load() / 1000;
  for (int id = 0; id < kTenants; ++id) {
    INFO("tenant " << id);
    CHECK(admitted[id].load() <= ceiling);
  }
}

TEST_CASE("the replica count changes while threads charge: never more than the undivided rate",
          "[ratelimit][concurrency][replicas]") {
  constexpr int kRounds = 3000;
  LimitsConfig config;
  config.defaults.metrics.samples_per_second = 1000;
  config.defaults.metrics.burst_samples = 500;
  FakeClock clock;
  TenantLimiter limiter(config, clock);
  std::atomic<std::int64_t> admitted{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(200 + t);
      std::uniform_int_distribution<int> cost(1, 50);
      for (int i = 0; i < kRounds; ++i) {
        const int c = cost(rng);
        if (limiter.charge("tenant", Signal::kMetrics, {1, double(c), 0}).admitted) {
          admitted.fetch_add(c, std::memory_order_relaxed);
        }
      }
    });
  }
  // Background: time moves and the resolver's count goes 1..4 and back to none, as DNS answers
  // change; a rescale keeps the tokens a bucket holds, so nothing is granted twice.
  std::atomic<std::int64_t> elapsed_ms{0};
  std::thread background([&] {
    std::uint32_t replicas = 0;
    while (!stop.load()) {
      clock.advance(milliseconds(1));
      elapsed_ms.fetch_add(1);
      replicas = (replicas + 1) % 5;
      limiter.set_dns_replicas(replicas);
      (void)limiter.replicas();
      std::this_thread::yield();
    }
  });
  for (auto& thread : threads) thread.join();
  stop = true;
  background.join();
  CHECK(admitted.load() <= 500 + 1000 * elapsed_ms.load() / 1000 + 1);
}

}  // namespace
}  // namespace mla::ratelimit
