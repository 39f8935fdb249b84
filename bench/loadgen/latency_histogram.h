// A fixed-size, log-linear latency histogram in the spirit of HdrHistogram: values in
// microseconds from 1 µs to 60 s, each bucket at most 1/128 (~0.8%) of its value wide, so every
// reported percentile is within 1% of the true value. Recording is O(1) and allocation-free;
// histograms of several threads are merged after the run. Not thread-safe: one per io thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace mla::bench {

class LatencyHistogram {
 public:
  // Values above kMaxMicros are recorded as kMaxMicros (and still counted in max()).
  static constexpr std::uint64_t kMaxMicros = 60'000'000;
  // Values below kLinearLimit get one bucket each; above it, every power of two [2^m, 2^(m+1))
  // is split into kLinearLimit equal buckets.
  static constexpr int kSubBucketBits = 7;
  static constexpr std::uint64_t kLinearLimit = std::uint64_t{1} << kSubBucketBits;  // 128

  void record(std::uint64_t micros);
  void merge(const LatencyHistogram& other);
  void reset();

  std::uint64_t count() const { return count_; }
  // Exact mean, min and max of the recorded values (0 when empty).
  double mean() const;
  std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }
  // The value at or below which `percent` (0..100) of the recorded values lie: the upper bound of
  // the bucket holding that rank, capped at max(). 0 when empty.
  std::uint64_t percentile(double percent) const;

  // Bucket arithmetic, exposed for tests.
  static std::size_t bucket_of(std::uint64_t micros);
  // Largest value that falls into `bucket`.
  static std::uint64_t bucket_upper(std::size_t bucket);
  // bucket_of(kMaxMicros) + 1 (checked in the .cc): 2533 × 8 bytes.
  static constexpr std::size_t kBuckets = 2533;

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;  // µs; 2^64 µs is ~584,000 years of summed latency
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
};

}  // namespace mla::bench
