// Request-path metrics of the data plane (DESIGN.md §7), declared in one place and exported on
// /metrics by the admin server: requests_total{tenant,route,code},
// request_duration_seconds{route}, upstream_requests_total{upstream,code} and
// upstream_duration_seconds{upstream}. Process-wide counters without per-request labels live in
// common::Stats, per-tenant traffic counters in common::TenantCounters.
//
// Thread-safety: every worker thread records into the same families. A series is created once
// under its shard's mutex; after that each thread finds it in its own cache, so recording is a
// lock-free hash lookup plus relaxed atomic adds. The admin thread reads with visit().
// Cardinality is bounded: a family holds at most `max_series` series; beyond that, new label sets
// are recorded with their first label (the tenant, where there is one) set to kOverflowLabel.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mla::common {

inline constexpr std::string_view kOverflowLabel = "__other__";

// Bucket upper bounds in seconds for request and upstream durations (+Inf is implicit). The
// Prometheus defaults, extended to the default request_timeout (60 s) and beyond.
inline constexpr std::array<double, 14> kDurationBuckets = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};

// A histogram over kDurationBuckets. observe() is lock-free; a snapshot taken while observations
// run may have a _sum a few observations apart from its counts (never inconsistent buckets).
class Histogram {
 public:
  struct Snapshot {
    std::array<std::uint64_t, kDurationBuckets.size()> cumulative{};  // per finite bucket
    std::uint64_t count = 0;                                          // = the +Inf bucket
    double sum = 0;                                                   // seconds
  };

  void observe(std::chrono::nanoseconds duration);
  Snapshot snapshot() const;

 private:
  // Non-cumulative counts; the last one is (120 s, +Inf].
  std::array<std::atomic<std::uint64_t>, kDurationBuckets.size() + 1> buckets_{};
  std::atomic<std::uint64_t> sum_ns_{0};  // wraps after 584 years of summed durations
};

using Counter = std::atomic<std::uint64_t>;

// Labelled series of one metric (a Counter or a Histogram each). Series are never removed, so a
// reference returned by at() stays valid for the life of the family.
template <typename T>
class Family {
 public:
  Family(std::size_t label_count, std::size_t max_series)
      : label_count_(label_count), max_series_(max_series), id_(next_family_id()) {}
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // The series of `labels` (label_count values), created on first use. Thread-safe.
  T& at(std::initializer_list<std::string_view> labels);

  // Calls fn for every series, under each shard's mutex in turn (admin thread; fn must not call
  // at() on this family).
  void visit(const std::function<void(const std::vector<std::string>&, const T&)>& fn) const;

  std::size_t size() const { return size_.load(std::memory_order_relaxed); }

 private:
  struct Series {
    explicit Series(std::vector<std::string> values) : labels(std::move(values)) {}
    const std::vector<std::string> labels;
    T value{};
  };
  static constexpr std::size_t kShards = 16;
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, std::unique_ptr<Series>> series;  // guarded by mutex
  };

  static std::uint64_t next_family_id();
  T* find_or_create(const std::string& key, std::vector<std::string> labels, bool& overflowed);

  const std::size_t label_count_;
  const std::size_t max_series_;
  const std::uint64_t id_;  // unique per family for the life of the process (per-thread caches)
  std::array<Shard, kShards> shards_;
  std::atomic<std::size_t> size_{0};
};

extern template class Family<Counter>;
extern template class Family<Histogram>;

struct RequestMetrics {
  // Series bounds (documented in README "Metrics"): tenants x routes x codes, and routes or
  // upstreams alone (bounded by the config, capped for safety across many reloads).
  static constexpr std::size_t kMaxTenantSeries = 20000;
  static constexpr std::size_t kMaxConfigSeries = 2000;

  Family<Counter> requests{3, kMaxTenantSeries};             // tenant, route, code
  Family<Histogram> request_duration{1, kMaxConfigSeries};   // route
  Family<Counter> upstream_requests{2, kMaxConfigSeries};    // upstream, code
  Family<Histogram> upstream_duration{1, kMaxConfigSeries};  // upstream

  // Route label for requests that matched no route (404, or refused before routing).
  static constexpr std::string_view kNoRoute = "none";
  // Tenant label for requests whose client certificate gave no tenant.
  static constexpr std::string_view kNoTenant = "__none__";
  // Code label of upstream_requests_total when the upstream gave no answer.
  static constexpr std::string_view kUpstreamError = "error";
  static constexpr std::string_view kUpstreamTimeout = "timeout";

  // One answered request (any status, rejections included). Worker threads.
  void count_request(std::string_view tenant, std::string_view route, unsigned status);
  // One forwarded request: `status` 0 = no answer (`timed_out` tells which). Worker threads.
  void count_upstream(std::string_view upstream, unsigned status, bool timed_out,
                      std::chrono::nanoseconds duration);
};

// The process-wide instance the data plane records into.
RequestMetrics& request_metrics();

// Observes request_duration_seconds{route} when it goes out of scope (the end of handling one
// request, response written). Requests that matched no route are observed under kNoRoute.
class RequestTimer {
 public:
  explicit RequestTimer(RequestMetrics& metrics)
      : metrics_(metrics), started_(std::chrono::steady_clock::now()) {}
  ~RequestTimer();
  RequestTimer(const RequestTimer&) = delete;
  RequestTimer& operator=(const RequestTimer&) = delete;

  // `route` must outlive the timer (a RouteConfig path of the request's config snapshot).
  void set_route(std::string_view route) { route_ = route; }

 private:
  RequestMetrics& metrics_;
  const std::chrono::steady_clock::time_point started_;
  std::string_view route_ = RequestMetrics::kNoRoute;
};

}  // namespace mla::common
