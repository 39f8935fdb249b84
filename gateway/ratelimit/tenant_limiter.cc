#include "gateway/ratelimit/tenant_limiter.h"

#include <algorithm>
#include <utility>

#include "gateway/ratelimit/replica_count.h"

namespace mla::ratelimit {
namespace {

// last_used_ns is refreshed at most this often, so a busy tenant's hot path stays read-mostly.
constexpr std::int64_t kTouchGranularityNs = 1'000'000'000;

template <std::size_t... I>
std::array<AtomicTokenBucket, kBucketCount> make_buckets(const TenantBucketParams& params,
                                                         std::index_sequence<I...>) {
  return {AtomicTokenBucket(params[I])...};
}

template <std::size_t... I>
std::array<AtomicTokenBucket, kBucketCount> rescale_buckets(
    const std::array<AtomicTokenBucket, kBucketCount>& from, const TenantBucketParams& params,
    MonoTime now, std::index_sequence<I...>) {
  return {AtomicTokenBucket(params[I], from[I], now)...};
}

}  // namespace

TenantLimiter::Entry::Entry(const TenantBucketParams& params, MonoTime now)
    : buckets(make_buckets(params, std::make_index_sequence<kBucketCount>{})),
      last_used_ns(now.count()) {}

TenantLimiter::Entry::Entry(const Entry& from, const TenantBucketParams& params, MonoTime now)
    : buckets(rescale_buckets(from.buckets, params, now, std::make_index_sequence<kBucketCount>{})),
      last_used_ns(from.last_used_ns.load(std::memory_order_relaxed)) {}

bool TenantLimiter::Entry::all_full(MonoTime now) const {
  return std::all_of(buckets.begin(), buckets.end(),
                     [now](const AtomicTokenBucket& bucket) { return bucket.full(now); });
}

bool TenantLimiter::Entry::same_params(const TenantBucketParams& params) const {
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    if (!(buckets[i].params() == params[i])) return false;
  }
  return true;
}

TenantLimiter::TenantLimiter(const LimitsConfig& config, const Clock& clock)
    : TenantLimiter(config, clock, Options{}) {}

TenantLimiter::TenantLimiter(const LimitsConfig& config, const Clock& clock, Options options)
    : clock_(clock),
      options_(options),
      shard_capacity_(
          std::max<std::size_t>(1, (options.max_tenants * 5 / 4 + kShards - 1) / kShards)),
      config_(std::make_shared<const LimitsConfig>(config)) {
  std::lock_guard update(update_mutex_);
  publish_replicas(effective_replicas(config.replicas, 0));
}

TenantLimiter::~TenantLimiter() = default;

TenantLimiter::Shard& TenantLimiter::shard_for(std::string_view tenant) {
  // The map hashes the same value again; the low bits pick the bucket there, so use high bits.
  const std::size_t hash = StringHash{}(tenant);
  return shards_[((hash >> 32) ^ hash) % kShards];
}

LimitDecision TenantLimiter::charge(std::string_view tenant, Signal signal, const Cost& cost) {
  const MonoTime now = clock_.now();
  Shard& shard = shard_for(tenant);
  {
    std::shared_lock lock(shard.mutex);
    if (const auto it = shard.tenants.find(tenant); it != shard.tenants.end()) {
      return charge_entry(*it->second, signal, cost, now);
    }
  }
  std::unique_lock lock(shard.mutex);
  auto it = shard.tenants.find(tenant);  // another thread may have created it meanwhile
  if (it == shard.tenants.end()) {
    if (shard.tenants.size() >= shard_capacity_) make_room(shard, now);
    std::shared_ptr<const LimitsConfig> config;
    std::uint32_t replicas = 1;
    {
      std::lock_guard config_lock(config_mutex_);
      config = config_;
      replicas = effective_replicas(config_->replicas, dns_replicas_);
    }
    auto entry =
        std::make_unique<Entry>(resolve_buckets(config->limits_for(tenant), replicas), now);
    it = shard.tenants.emplace(std::string(tenant), std::move(entry)).first;
  }
  return charge_entry(*it->second, signal, cost, now);
}

LimitDecision TenantLimiter::charge_entry(Entry& entry, Signal signal, const Cost& cost,
                                          MonoTime now) {
  if (now.count() - entry.last_used_ns.load(std::memory_order_relaxed) >= kTouchGranularityNs) {
    entry.last_used_ns.store(now.count(), std::memory_order_relaxed);
  }
  const std::array<double, kResourcesPerSignal> costs = {cost.requests, cost.units, cost.bytes};
  const std::size_t count = resource_count(signal);
  for (std::size_t r = 0; r < count; ++r) {
    const auto resource = static_cast<Resource>(r);
    AtomicTokenBucket& bucket = entry.buckets[bucket_index(signal, resource)];
    const Decision decision = bucket.try_consume(costs[r], now);
    if (decision.admitted) continue;
    for (std::size_t k = 0; k < r; ++k) {
      entry.buckets[bucket_index(signal, static_cast<Resource>(k))].refund(costs[k], now);
    }
    LimitDecision rejected;
    rejected.admitted = false;
    rejected.signal = signal;
    rejected.resource = resource;
    rejected.rate_per_second = bucket.params().rate_per_second;
    rejected.burst = bucket.params().burst;
    rejected.cost = costs[r];
    rejected.retry_after_seconds = decision.retry_after_seconds;
    return rejected;
  }
  return {};
}

void TenantLimiter::make_room(Shard& shard, MonoTime now) {
  const std::size_t before = shard.tenants.size();
  std::erase_if(shard.tenants, [&](const auto& item) {
    const Entry& entry = *item.second;
    return now.count() - entry.last_used_ns.load(std::memory_order_relaxed) >=
               options_.idle_ttl.count() &&
           entry.all_full(now);
  });
  if (shard.tenants.size() < before || shard.tenants.empty()) return;
  const auto oldest = std::min_element(
      shard.tenants.begin(), shard.tenants.end(), [](const auto& a, const auto& b) {
        return a.second->last_used_ns.load(std::memory_order_relaxed) <
               b.second->last_used_ns.load(std::memory_order_relaxed);
      });
  shard.tenants.erase(oldest);
}

void TenantLimiter::update_config(const LimitsConfig& config) {
  std::lock_guard update(update_mutex_);
  auto next = std::make_shared<const LimitsConfig>(config);
  std::shared_ptr<const LimitsConfig> previous;
  std::uint32_t replicas = 1;
  {
    std::lock_guard lock(config_mutex_);
    previous = std::exchange(config_, next);
    replicas = effective_replicas(next->replicas, dns_replicas_);
  }
  rebuild(*previous, *next, replicas);
  publish_replicas(replicas);
}

void TenantLimiter::set_dns_replicas(std::uint32_t replicas) {
  std::lock_guard update(update_mutex_);
  std::shared_ptr<const LimitsConfig> config;
  {
    std::lock_guard lock(config_mutex_);
    if (dns_replicas_ == replicas) return;
    dns_replicas_ = replicas;
    config = config_;
  }
  const std::uint32_t divisor = effective_replicas(config->replicas, replicas);
  rebuild(*config, *config, divisor);
  publish_replicas(divisor);
}

std::uint32_t TenantLimiter::replicas() const {
  std::lock_guard lock(config_mutex_);
  return effective_replicas(config_->replicas, dns_replicas_);
}

void TenantLimiter::rebuild(const LimitsConfig& previous, const LimitsConfig& next,
                            std::uint32_t replicas) {
  // Tenants created from here on read the new settings; existing ones are rebuilt below. A tenant
  // created concurrently with the old settings is in a shard not yet visited, or was created
  // after they changed and so saw the new ones. Updates are serialised (update_mutex_), so every
  // live tenant was built from `previous`.
  const MonoTime now = clock_.now();
  for (Shard& shard : shards_) {
    std::unique_lock lock(shard.mutex);
    for (auto& [tenant, entry] : shard.tenants) {
      const TenantLimits& limits = next.limits_for(tenant);
      const TenantBucketParams params = resolve_buckets(limits, replicas);
      if (entry->same_params(params)) continue;
      if (limits == previous.limits_for(tenant)) {
        entry = std::make_unique<Entry>(*entry, params, now);  // only the divisor changed
      } else {
        entry = std::make_unique<Entry>(params, now);
      }
    }
  }
}

void TenantLimiter::publish_replicas(std::uint32_t replicas) {
  if (replicas == published_replicas_) return;
  published_replicas_ = replicas;
  if (options_.on_replicas) options_.on_replicas(replicas);
}

std::size_t TenantLimiter::evict_idle() {
  const MonoTime now = clock_.now();
  std::size_t evicted = 0;
  for (Shard& shard : shards_) {
    std::unique_lock lock(shard.mutex);
    evicted += std::erase_if(shard.tenants, [&](const auto& item) {
      const Entry& entry = *item.second;
      return now.count() - entry.last_used_ns.load(std::memory_order_relaxed) >=
                 options_.idle_ttl.count() &&
             entry.all_full(now);
    });
  }
  return evicted;
}

std::size_t TenantLimiter::tenant_count() const {
  std::size_t count = 0;
  for (const Shard& shard : shards_) {
    std::shared_lock lock(shard.mutex);
    count += shard.tenants.size();
  }
  return count;
}

std::shared_ptr<const LimitsConfig> TenantLimiter::config() const {
  std::lock_guard lock(config_mutex_);
  return config_;
}

std::vector<TenantLimiter::TenantState> TenantLimiter::snapshot() const {
  const MonoTime now = clock_.now();
  std::vector<TenantState> tenants;
  for (const Shard& shard : shards_) {
    std::shared_lock lock(shard.mutex);
    for (const auto& [tenant, entry] : shard.tenants) {
      TenantState state{tenant, {}};
      for (std::size_t i = 0; i < kBucketCount; ++i) {
        const AtomicTokenBucket& bucket = entry->buckets[i];
        if (bucket.params().unlimited) continue;
        state.buckets.push_back({static_cast<Signal>(i / kResourcesPerSignal),
                                 static_cast<Resource>(i % kResourcesPerSignal),
                                 bucket.params().rate_per_second, bucket.params().burst,
                                 bucket.available(now)});
      }
      tenants.push_back(std::move(state));
    }
  }
  std::sort(tenants.begin(), tenants.end(),
            [](const TenantState& a, const TenantState& b) { return a.tenant < b.tenant; });
  return tenants;
}

}  // namespace mla::ratelimit
