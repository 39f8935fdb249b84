// Per-tenant rate limits (DESIGN.md §3 `limits`), as typed values. The config loader fills a
// LimitsConfig; TenantLimiter turns it into token buckets. Every rate is in units per second and
// 0 means "no limit"; a burst of 0 means "one second of the (undivided) rate, at least 1".
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace mla::ratelimit {

inline constexpr double kMiBytes = 1024.0 * 1024.0;

// Remote-write routes. Samples = samples + histograms + exemplars (ingest::Counts::metric_cost).
struct MetricsLimits {
  double requests_per_second = 0;
  double burst_requests = 0;
  double samples_per_second = 25000;
  double burst_samples = 50000;
  double bytes_per_second = 0;  // request body bytes as received (compressed)
  double burst_bytes = 0;

  bool operator==(const MetricsLimits&) const = default;
};

// Loki push routes. Lines = entries; bytes = line + structured-metadata bytes (uncompressed), as
// Loki's own ingestion_rate_mb counts them (ingest::Counts::log_bytes).
struct LogsLimits {
  double requests_per_second = 0;
  double burst_requests = 0;
  double lines_per_second = 0;
  double burst_lines = 0;
  double bytes_per_second = 4 * kMiBytes;
  double burst_bytes = 6 * kMiBytes;

  bool operator==(const LogsLimits&) const = default;
};

// Read listener, per tenant.
struct QueryLimits {
  double requests_per_second = 0;
  double burst_requests = 0;

  bool operator==(const QueryLimits&) const = default;
};

struct TenantLimits {
  MetricsLimits metrics;
  LogsLimits logs;
  QueryLimits queries;

  bool operator==(const TenantLimits&) const = default;
};

struct LimitsConfig {
  // Gateway replicas sharing the load: rates (not bursts) are divided by it, like Cortex's
  // "global" ingestion rate strategy. 0 is treated as 1. With replicas_from_dns, the initial
  // value and the fallback until a lookup of that name has succeeded (replica_count.h).
  std::uint32_t replicas = 1;
  // A DNS name (a headless Service) whose A + AAAA addresses are the replicas (count_replicas());
  // "" = off. Re-resolved every replicas_dns_interval off the worker threads
  // (server/replica_resolver.h).
  std::string replicas_from_dns;
  std::chrono::milliseconds replicas_dns_interval = std::chrono::seconds(15);
  // "ip:port" or "[ipv6]:port" of the DNS server to ask; "" = the system resolver
  // (/etc/resolv.conf). For tests and special setups.
  std::string replicas_dns_server;
  int limited_status = 429;   // 429 (with Retry-After) or 503
  int disabled_status = 503;  // answer for a disabled tenant (with Retry-After)
  TenantLimits defaults;
  // Complete limits per tenant. The YAML overrides are partial ({metrics: {samples_per_second:
  // ...}}): the loader starts each entry from a copy of `defaults` and applies the keys given.
  std::map<std::string, TenantLimits, std::less<>> overrides;

  const TenantLimits& limits_for(std::string_view tenant) const {
    const auto it = overrides.find(tenant);
    return it == overrides.end() ? defaults : it->second;
  }

  bool operator==(const LimitsConfig&) const = default;
};

}  // namespace mla::ratelimit
