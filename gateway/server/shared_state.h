// Process-wide state shared by all workers and surviving config reloads: the current Runtime
// snapshot, the per-tenant token buckets, counters and kill switch. Owned by the Server; every
// member is thread-safe on its own (versioned snapshot, sharded maps with atomic counters).
#pragma once

#include <memory>

#include "gateway/common/tenant_counters.h"
#include "gateway/ratelimit/clock.h"
#include "gateway/ratelimit/tenant_limiter.h"
#include "gateway/server/runtime.h"
#include "gateway/server/runtime_source.h"
#include "gateway/tenant/tenant_switch.h"

namespace mla::server {

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
