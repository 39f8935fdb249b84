#include "bench/loadgen/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace mla::bench {
namespace {

constexpr int kBits = LatencyHistogram::kSubBucketBits;
constexpr std::uint64_t kLinear = LatencyHistogram::kLinearLimit;

constexpr std::size_t index_of(std::uint64_t v) {
  if (v < kLinear) return static_cast<std::size_t>(v);
  const int msb = std::bit_width(v) - 1;  // v in [2^msb, 2^(msb+1)), msb >= kBits
  const int shift = msb - kBits;          // bucket width 2^shift
  return static_cast<std::size_t>(kLinear * (shift + 1) + ((v >> shift) - kLinear));
}

constexpr std::uint64_t upper_of(std::size_t bucket) {
  if (bucket < kLinear) return bucket;
  const std::uint64_t shift = bucket / kLinear - 1;
  const std::uint64_t sub = bucket % kLinear + kLinear;
  return ((sub + 1) << shift) - 1;
}

}  // namespace

static_assert(index_of(LatencyHistogram::kMaxMicros) + 1 == LatencyHistogram::kBuckets,
              "kBuckets must cover exactly 0..kMaxMicros");
static_assert(upper_of(index_of(LatencyHistogram::kMaxMicros)) >= LatencyHistogram::kMaxMicros);

std::size_t LatencyHistogram::bucket_of(std::uint64_t micros) {
  return index_of(std::min(micros, kMaxMicros));
}

std::uint64_t LatencyHistogram::bucket_upper(std::size_t bucket) { return upper_of(bucket); }

void LatencyHistogram::record(std::uint64_t micros) {
  ++counts_[bucket_of(micros)];
  ++count_;
  sum_ += micros;
  min_ = std::min(min_, micros);
  max_ = std::max(max_, micros);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void LatencyHistogram::reset() { *this = LatencyHistogram(); }

double LatencyHistogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_);
}

std::uint64_t LatencyHistogram::percentile(double percent) const {
  if (count_ == 0) return 0;
  percent = std::clamp(percent, 0.0, 100.0);
  // The rank (1-based) of the value asked for: p50 of 10 values is the 5th, p100 the last.
  auto rank = static_cast<std::uint64_t>(std::ceil(percent / 100.0 * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(upper_of(i), min(), max_);
  }
  return max_;
}

}  // namespace mla::bench
