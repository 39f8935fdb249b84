// Per-tenant token buckets shared by all worker threads (DESIGN.md §4, §8).
//
// Concurrency: tenants live in kShards shards, each a hash map under its own std::shared_mutex.
// Charging an existing tenant takes only its shard's lock in shared mode and then updates
// AtomicTokenBucket state with CAS, so workers never serialise on a global lock and two tenants
// in different shards never touch the same lock. The exclusive lock is taken only to create a
// tenant (first request), to evict, and on config or replica-count update.
//
// Memory bound: a tenant is created on first use and evicted by evict_idle() once it has been
// idle for Options::idle_ttl *and* all its buckets are full again (so eviction forgets nothing: a
// re-created tenant starts full, exactly as the evicted one was). Independently, a shard never
// holds more than ceil(1.25 * max_tenants / kShards) tenants; creating one beyond that first drops
// that shard's idle-and-full tenants, then its least recently used one (which may forgive a debt;
// only happens with more than max_tenants tenants active at once). An entry is ~0.5 KiB, so the
// default cap (10,000 tenants, ≤ 12,544 entries) bounds this at ~6 MiB.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gateway/ratelimit/atomic_token_bucket.h"
#include "gateway/ratelimit/clock.h"
#include "gateway/ratelimit/limits_config.h"
#include "gateway/ratelimit/tenant_buckets.h"

namespace mla::ratelimit {

class TenantLimiter {
 public:
  struct Options {
    MonoTime idle_ttl = std::chrono::minutes(10);
    std::size_t max_tenants = 10000;
    // Called with the divisor in use (replicas()) at construction and whenever it changes, one
    // call at a time and in order (under the update lock), e.g. to publish it as a gauge. Must not
    // call back into the limiter.
    std::function<void(std::uint32_t)> on_replicas{};
  };

  static constexpr std::size_t kShards = 64;

  // `clock` must outlive the limiter.
  TenantLimiter(const LimitsConfig& config, const Clock& clock);
  TenantLimiter(const LimitsConfig& config, const Clock& clock, Options options);
  TenantLimiter(const TenantLimiter&) = delete;
  TenantLimiter& operator=(const TenantLimiter&) = delete;
  ~TenantLimiter();

  // Charges every bucket of `signal` (requests, then units, then bytes; a zero cost is free).
  // All-or-nothing: if one bucket rejects, the ones already charged are refunded. Thread-safe.
  LimitDecision charge(std::string_view tenant, Signal signal, const Cost& cost);

  // Installs new limits (config reload). Tenants whose limits changed start over with full
  // buckets; the others keep their token levels (under new rates if the divisor changed, e.g.
  // limits.replicas). Thread-safe.
  void update_config(const LimitsConfig& config);

  // The number of replicas limits.replicas_from_dns resolved to; 0 = none (again), use
  // limits.replicas. The divisor is then effective_replicas(limits.replicas, replicas)
  // (replica_count.h); live tenants keep their token levels under the new rates. Thread-safe.
  void set_dns_replicas(std::uint32_t replicas);
  // What rates are divided by now (>= 1). Thread-safe.
  std::uint32_t replicas() const;

  // Drops tenants idle for idle_ttl whose buckets are all full; returns how many. Call it
  // periodically (e.g. every minute) from any thread.
  std::size_t evict_idle();

  std::size_t tenant_count() const;
  std::shared_ptr<const LimitsConfig> config() const;

  // For the admin API: the current state of every limited bucket of every live tenant.
  struct BucketState {
    Signal signal;
    Resource resource;
    double rate_per_second;  // on this replica
    double burst;
    double available;  // tokens now; negative while in debt
  };
  struct TenantState {
    std::string tenant;
    std::vector<BucketState> buckets;
  };
  std::vector<TenantState> snapshot() const;

 private:
  // One tenant's buckets. Created and destroyed under the shard's exclusive lock; buckets are
  // charged concurrently under its shared lock.
  struct Entry {
    explicit Entry(const TenantBucketParams& params, MonoTime now);
    // `from`'s token levels and last use under new parameters (gcra_rescale).
    Entry(const Entry& from, const TenantBucketParams& params, MonoTime now);
    bool all_full(MonoTime now) const;
    bool same_params(const TenantBucketParams& params) const;

    std::array<AtomicTokenBucket, kBucketCount> buckets;
    std::atomic<std::int64_t> last_used_ns;  // MonoTime of the last charge, ~1 s resolution
  };

  struct StringHash {
    using is_transparent = void;  // NOLINT(readability-identifier-naming): std's name
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, std::unique_ptr<Entry>, StringHash, std::equal_to<>>;

  struct alignas(64) Shard {
    mutable std::shared_mutex mutex;
    Map tenants;  // guarded by mutex
  };

  Shard& shard_for(std::string_view tenant);
  LimitDecision charge_entry(Entry& entry, Signal signal, const Cost& cost, MonoTime now);
  // Caller holds shard.mutex exclusively.
  void make_room(Shard& shard, MonoTime now);
  // Brings every live tenant from `previous` to `next` limits divided by `replicas`. Caller holds
  // update_mutex_.
  void rebuild(const LimitsConfig& previous, const LimitsConfig& next, std::uint32_t replicas);
  // Calls options_.on_replicas if the divisor changed. Caller holds update_mutex_.
  void publish_replicas(std::uint32_t replicas);

  const Clock& clock_;
  const Options options_;
  const std::size_t shard_capacity_;

  // Serialises update_config() and set_dns_replicas() (reload thread, resolver thread); taken
  // before any other lock of the limiter.
  std::mutex update_mutex_;
  std::uint32_t published_replicas_ = 0;  // last value given to on_replicas; under update_mutex_

  // Guards config_ and dns_replicas_; taken after a shard lock, never before.
  mutable std::mutex config_mutex_;
  std::shared_ptr<const LimitsConfig> config_;
  std::uint32_t dns_replicas_ = 0;  // 0 = none: config_->replicas applies

  std::array<Shard, kShards> shards_;
};

}  // namespace mla::ratelimit
