// The buckets one tenant has, what they measure, and how a rejection is explained. Pure values
// and functions; TenantLimiter holds the live (atomic) buckets.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/ratelimit/bucket_math.h"
#include "gateway/ratelimit/limits_config.h"

namespace mla::ratelimit {

enum class Signal : std::uint8_t { kMetrics, kLogs, kQueries };
// kUnits is samples for metrics and lines for logs; queries only have kRequests.
enum class Resource : std::uint8_t { kRequests, kUnits, kBytes };

inline constexpr std::size_t kResourcesPerSignal = 3;
// metrics {requests, samples, bytes}, logs {requests, lines, bytes}, queries {requests}.
inline constexpr std::size_t kBucketCount = 2 * kResourcesPerSignal + 1;

constexpr std::size_t bucket_index(Signal signal, Resource resource) {
  return static_cast<std::size_t>(signal) * kResourcesPerSignal +
         static_cast<std::size_t>(resource);
}

// Number of resources a signal is limited on (queries: requests only).
constexpr std::size_t resource_count(Signal signal) {
  return signal == Signal::kQueries ? 1 : kResourcesPerSignal;
}

using TenantBucketParams = std::array<BucketParams, kBucketCount>;

// Rates divided by `replicas` (0 treated as 1); bursts are not divided, and a burst of 0 becomes
// one second of the undivided rate (at least 1).
TenantBucketParams resolve_buckets(const TenantLimits& limits, std::uint32_t replicas);

std::string_view signal_name(Signal signal);                       // "metrics", "logs", "queries"
std::string_view resource_name(Signal signal, Resource resource);  // "samples", "lines", ...

// What a charge costs, in the units of each of the signal's buckets.
struct Cost {
  double requests = 1;
  double units = 0;  // metrics: Counts::metric_cost(); logs: Counts::log_lines
  double bytes = 0;  // metrics: body size on the wire; logs: Counts::log_bytes
};

struct LimitDecision {
  bool admitted = true;
  // When rejected: the bucket that rejected, its parameters on this replica, and the cost.
  Signal signal = Signal::kMetrics;
  Resource resource = Resource::kRequests;
  double rate_per_second = 0;
  double burst = 0;
  double cost = 0;
  std::int64_t retry_after_seconds = 0;  // for the Retry-After header; >= 1 when rejected
};

// One line for the response body, in the style of Cortex: "ingestion rate limit (25000 samples/s,
// burst 50000) exceeded while adding 60000 samples". Empty when admitted.
std::string describe(const LimitDecision& decision);

}  // namespace mla::ratelimit
