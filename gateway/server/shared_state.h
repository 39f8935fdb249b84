// Process-wide state shared by all workers and surviving config reloads: the current Runtime
// snapshot, the per-tenant token buckets, counters and kill switch. Owned by the Server; every
// member is thread-safe on its own (atomic snapshot swap, sharded maps with atomic counters).
#pragma once

#include <atomic>
#include <memory>

#include "gateway/common/tenant_counters.h"
#include "gateway/ratelimit/clock.h"
#include "gateway/ratelimit/tenant_limiter.h"
#include "gateway/server/runtime.h"
#include "gateway/tenant/tenant_switch.h"

namespace mla::server {

// Where workers get the current Runtime; a reload swaps the pointer atomically.
class RuntimeSource {
 public:
  explicit RuntimeSource(std::shared_ptr<const Runtime> initial) : current_(std::move(initial)) {}
  std::shared_ptr<const Runtime> get() const { return current_.load(std::memory_order_acquire); }
  void set(std::shared_ptr<const Runtime> next) {
    current_.store(std::move(next), std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const Runtime>> current_;
};

struct SharedState {
  explicit SharedState(std::shared_ptr<const Runtime> initial)
      : runtimes(initial), limiter(initial->config->limits, clock) {}

  RuntimeSource runtimes;
  ratelimit::SteadyClock clock;  // declared before limiter, which keeps a reference to it
  ratelimit::TenantLimiter limiter;
  common::TenantCounters tenants;
  tenant::TenantSwitch switches;  // the kill switch; written by the admin thread only
};

}  // namespace mla::server
