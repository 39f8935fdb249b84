#include "gateway/common/metrics.h"

#include <algorithm>
#include <cassert>
#include <string>

namespace mla::common {
namespace {

void append_labels(std::string& key, std::initializer_list<std::string_view> labels) {
  for (std::string_view label : labels) {
    key.append(label);
    key.push_back('\0');  // label values may hold anything else; the separator keeps keys unique
  }
}

std::string key_of(const std::vector<std::string>& labels) {
  std::string key;
  for (const auto& label : labels) {
    key.append(label);
    key.push_back('\0');
  }
  return key;
}

}  // namespace

void Histogram::observe(std::chrono::nanoseconds duration) {
  const auto ns = std::max<std::int64_t>(duration.count(), 0);
  const double seconds = static_cast<double>(ns) / 1e9;
  // Buckets are "le" (less than or equal): the first bound not below the value.
  const auto index = static_cast<std::size_t>(
      std::lower_bound(kDurationBuckets.begin(), kDurationBuckets.end(), seconds) -
      kDurationBuckets.begin());
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot out;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < kDurationBuckets.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out.cumulative[i] = running;
  }
  out.count = running + buckets_.back().load(std::memory_order_relaxed);
  out.sum = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  return out;
}

template <typename T>
std::uint64_t Family<T>::next_family_id() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

template <typename T>
T& Family<T>::at(std::initializer_list<std::string_view> labels) {
  assert(labels.size() == label_count_);
  // Per-thread cache of series this thread has recorded into, keyed by family id + labels. It
  // only holds series that exist (bounded by max_series per family), never overflowed label sets.
  thread_local std::unordered_map<std::string, T*> cache;
  thread_local std::string key;  // reused: no allocation per lookup once it has grown
  key.assign(reinterpret_cast<const char*>(&id_), sizeof id_);
  append_labels(key, labels);
  if (auto it = cache.find(key); it != cache.end()) return *it->second;

  bool overflowed = false;
  T* value = find_or_create(key.substr(sizeof id_),
                            std::vector<std::string>(labels.begin(), labels.end()), overflowed);
  if (!overflowed) cache.emplace(key, value);
  return *value;
}

template <typename T>
T* Family<T>::find_or_create(const std::string& key, std::vector<std::string> labels,
                             bool& overflowed) {
  {
    Shard& shard = shards_[std::hash<std::string>{}(key) % kShards];
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.series.find(key); it != shard.series.end()) return &it->second->value;
    // Checked per shard, so concurrent creations may pass the bound by at most kShards - 1.
    if (size_.load(std::memory_order_relaxed) < max_series_) {
      auto& slot = shard.series[key];
      slot = std::make_unique<Series>(std::move(labels));
      size_.fetch_add(1, std::memory_order_relaxed);
      return &slot->value;
    }
  }
  // Full: fold the first label. These series are bounded by the other labels' values.
  overflowed = true;
  if (!labels.empty()) labels.front() = kOverflowLabel;
  std::string folded = key_of(labels);
  Shard& shard = shards_[std::hash<std::string>{}(folded) % kShards];
  std::lock_guard lock(shard.mutex);
  auto& slot = shard.series[folded];
  if (!slot) {
    slot = std::make_unique<Series>(std::move(labels));
    size_.fetch_add(1, std::memory_order_relaxed);
  }
  return &slot->value;
}

template <typename T>
void Family<T>::visit(
    const std::function<void(const std::vector<std::string>&, const T&)>& fn) const {
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (const auto& [key, series] : shard.series) fn(series->labels, series->value);
  }
}

template class Family<Counter>;
template class Family<Histogram>;

void RequestMetrics::count_request(std::string_view tenant, std::string_view route,
                                   unsigned status) {
  requests
      .at({tenant.empty() ? kNoTenant : tenant, route.empty() ? kNoRoute : route,
           std::to_string(status)})
      .fetch_add(1, std::memory_order_relaxed);
}

void RequestMetrics::count_upstream(std::string_view upstream, unsigned status, bool timed_out,
                                    std::chrono::nanoseconds duration) {
  std::string code = status != 0 ? std::to_string(status)
                                 : std::string(timed_out ? kUpstreamTimeout : kUpstreamError);
  upstream_requests.at({upstream, code}).fetch_add(1, std::memory_order_relaxed);
  upstream_duration.at({upstream}).observe(duration);
}

RequestMetrics& request_metrics() {
  static RequestMetrics instance;
  return instance;
}

RequestTimer::~RequestTimer() {
  try {
    metrics_.request_duration.at({route_}).observe(std::chrono::steady_clock::now() - started_);
  } catch (...) {
    // Out of memory while creating the series: the observation is lost, the request is not.
  }
}

}  // namespace mla::common
