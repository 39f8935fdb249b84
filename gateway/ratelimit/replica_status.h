// What /metrics reports about the divisor of the rate limits (DESIGN.md §7 style, declared in one
// place): mla_gateway_limits_replicas and mla_gateway_limits_replicas_dns_lookups_total.
// Process-wide like common::stats(): the limiter's update path and the resolver thread write, the
// admin thread reads; every member is an atomic.
#pragma once

#include <atomic>
#include <cstdint>

namespace mla::ratelimit {

struct ReplicaStatus {
  std::atomic<std::uint32_t> replicas{1};  // the divisor in use (TenantLimiter::replicas())
  std::atomic<std::uint64_t> dns_lookups_ok{0};
  std::atomic<std::uint64_t> dns_lookups_error{0};
};

ReplicaStatus& replica_status();

}  // namespace mla::ratelimit
