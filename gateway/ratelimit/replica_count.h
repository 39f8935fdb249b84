// How many gateway replicas share a tenant's limits, i.e. what rates are divided by (Cortex's
// "global" strategy): limits.replicas, or the number of addresses limits.replicas_from_dns
// resolves to. Pure values and functions; the resolver thread (server/replica_resolver.h) feeds
// lookup outcomes in and hands the result to TenantLimiter::set_dns_replicas().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mla::ratelimit {

// The divisor in use: `from_dns` once a lookup has succeeded (non-zero), else `configured`;
// never below 1.
std::uint32_t effective_replicas(std::uint32_t configured, std::uint32_t from_dns);

// Replicas behind a name from its A and AAAA answers (text form): the larger number of distinct
// addresses of one family, at least 1. Not their sum: in a dual-stack cluster every pod has an
// IPv4 and an IPv6 address, and counting both would halve the limits.
std::uint32_t count_replicas(std::vector<std::string> ipv4, std::vector<std::string> ipv6);

// The count the lookups of one name give: the last success is kept through failures, so a DNS
// outage never changes the limits. Not thread-safe: owned by the resolver thread.
class DnsReplicaCount {
 public:
  // Starts over for `name` (a reload changed it; "" = off): what another name gave is forgotten.
  void reset(std::string name);
  void succeeded(std::uint32_t replicas);
  void failed();

  const std::string& name() const { return name_; }
  // 0 until a lookup of name() succeeded.
  std::uint32_t count() const { return count_; }
  // Failures since the last success (for logging the first of a run only).
  std::uint64_t failures_in_a_row() const { return failures_in_a_row_; }

 private:
  std::string name_;
  std::uint32_t count_ = 0;
  std::uint64_t failures_in_a_row_ = 0;
};

}  // namespace mla::ratelimit
