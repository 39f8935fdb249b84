// Process-wide state shared by all workers and surviving config reloads: the current Runtime
// snapshot, the per-tenant token buckets, counters and kill switch, and the resolver that keeps
// the buckets' divisor at the replica count. Owned by the Server; every member is thread-safe on
// its own (versioned snapshot, sharded maps with atomic counters).
#pragma once

#include <memory>

#include "gateway/common/tenant_counters.h"
#include "gateway/ratelimit/clock.h"
#include "gateway/ratelimit/replica_status.h"
#include "gateway/ratelimit/tenant_limiter.h"
#include "gateway/server/replica_resolver.h"
#include "gateway/server/runtime.h"
#include "gateway/server/runtime_source.h"
#include "gateway/tenant/tenant_switch.h"

namespace mla::server {

struct SharedState {
  explicit SharedState(std::shared_ptr<const Runtime> initial)
      : runtimes(initial),
        limiter(initial->config->limits, clock, {.on_replicas = [](std::uint32_t replicas) {
                  ratelimit::replica_status().replicas.store(replicas, std::memory_order_relaxed);
                }}) {}

  RuntimeSource runtimes;
  ratelimit::SteadyClock clock;  // declared before limiter, which keeps a reference to it
  ratelimit::TenantLimiter limiter;
  common::TenantCounters tenants;
  tenant::TenantSwitch switches;  // the kill switch; written by the admin thread only
  // limits.replicas_from_dns -> limiter; started by Server::start(). Declared last: its thread
  // uses runtimes and limiter, so it stops before they go away.
  ReplicaResolver replica_resolver{runtimes, limiter, ratelimit::replica_status()};
};

}  // namespace mla::server
