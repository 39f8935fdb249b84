#include "gateway/admin/tenant_rates.h"

namespace mla::admin {

void TenantRates::sample(std::chrono::steady_clock::time_point now,
                         const common::TenantCounters& tenants) {
  Sample next{now, {}};
  tenants.visit([&](const std::string& tenant, const common::TenantTraffic& traffic) {
    next.tenants[tenant] = {traffic.requests.load(std::memory_order_relaxed),
                            traffic.samples.load(std::memory_order_relaxed),
                            traffic.log_lines.load(std::memory_order_relaxed),
                            traffic.log_bytes.load(std::memory_order_relaxed)};
  });
  samples_.push_back(std::move(next));
  while (samples_.size() > kWindow) samples_.pop_front();
}

TenantRate TenantRates::of(std::string_view tenant) const {
  if (samples_.size() < 2) return {};
  const Sample& oldest = samples_.front();
  const Sample& newest = samples_.back();
  const double seconds = std::chrono::duration<double>(newest.at - oldest.at).count();
  if (seconds <= 0) return {};
  const std::string key(tenant);
  auto now = newest.tenants.find(key);
  if (now == newest.tenants.end()) return {};
  Totals before;  // a tenant first seen inside the window started from zero
  if (auto it = oldest.tenants.find(key); it != oldest.tenants.end()) before = it->second;
  auto rate = [&](std::uint64_t a, std::uint64_t b) {
    return static_cast<double>(a - b) / seconds;
  };
  return {rate(now->second.requests, before.requests), rate(now->second.samples, before.samples),
          rate(now->second.log_lines, before.log_lines),
          rate(now->second.log_bytes, before.log_bytes)};
}

}  // namespace mla::admin
