#include "gateway/ratelimit/tenant_buckets.h"

#include <fmt/format.h>

#include <algorithm>

namespace mla::ratelimit {
namespace {

BucketParams make(double rate, double burst, std::uint32_t replicas) {
  if (!(rate > 0)) return BucketParams{};
  const double effective_burst = burst > 0 ? burst : std::max(rate, 1.0);
  return BucketParams::make(rate / replicas, effective_burst);
}

}  // namespace

TenantBucketParams resolve_buckets(const TenantLimits& limits, std::uint32_t replicas) {
  replicas = std::max<std::uint32_t>(replicas, 1);
  TenantBucketParams params;
  const MetricsLimits& m = limits.metrics;
  const LogsLimits& l = limits.logs;
  params[bucket_index(Signal::kMetrics, Resource::kRequests)] =
      make(m.requests_per_second, m.burst_requests, replicas);
  params[bucket_index(Signal::kMetrics, Resource::kUnits)] =
      make(m.samples_per_second, m.burst_samples, replicas);
  params[bucket_index(Signal::kMetrics, Resource::kBytes)] =
      make(m.bytes_per_second, m.burst_bytes, replicas);
  params[bucket_index(Signal::kLogs, Resource::kRequests)] =
      make(l.requests_per_second, l.burst_requests, replicas);
  params[bucket_index(Signal::kLogs, Resource::kUnits)] =
      make(l.lines_per_second, l.burst_lines, replicas);
  params[bucket_index(Signal::kLogs, Resource::kBytes)] =
      make(l.bytes_per_second, l.burst_bytes, replicas);
  params[bucket_index(Signal::kQueries, Resource::kRequests)] =
      make(limits.queries.requests_per_second, limits.queries.burst_requests, replicas);
  return params;
}

std::string_view signal_name(Signal signal) {
  switch (signal) {
    case Signal::kMetrics: return "metrics";
    case Signal::kLogs: return "logs";
    case Signal::kQueries: return "queries";
  }
  return "unknown";
}

std::string_view resource_name(Signal signal, Resource resource) {
  switch (resource) {
    case Resource::kRequests: return "requests";
    case Resource::kUnits: return signal == Signal::kLogs ? "lines" : "samples";
    case Resource::kBytes: return "bytes";
  }
  return "unknown";
}

std::string describe(const LimitDecision& decision) {
  if (decision.admitted) return {};
  std::string_view what = "ingestion rate limit";
  if (decision.signal == Signal::kLogs) what = "log ingestion rate limit";
  if (decision.signal == Signal::kQueries) what = "query rate limit";
  const std::string_view unit = resource_name(decision.signal, decision.resource);
  return fmt::format("{} ({} {}/s, burst {}) exceeded while adding {} {}", what,
                     decision.rate_per_second, unit, decision.burst, decision.cost, unit);
}

}  // namespace mla::ratelimit
