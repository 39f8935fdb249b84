#include "gateway/common/tenant_counters.h"

namespace mla::common {

TenantTraffic& TenantCounters::of(std::string_view tenant) {
  std::string key(tenant);
  if (size_.load(std::memory_order_relaxed) >= kMaxTenants) {
    Shard& shard = shards_[std::hash<std::string>{}(key) % kShards];
    std::lock_guard lock(shard.mutex);
    auto it = shard.tenants.find(key);
    if (it != shard.tenants.end()) return *it->second;
    key = kOverflowTenant;
  }
  Shard& shard = shards_[std::hash<std::string>{}(key) % kShards];
  std::lock_guard lock(shard.mutex);
  auto& slot = shard.tenants[key];
  if (!slot) {
    slot = std::make_unique<TenantTraffic>();
    size_.fetch_add(1, std::memory_order_relaxed);
  }
  return *slot;
}

void TenantCounters::visit(
    const std::function<void(const std::string&, const TenantTraffic&)>& fn) const {
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (const auto& [tenant, traffic] : shard.tenants) fn(tenant, *traffic);
  }
}

}  // namespace mla::common
