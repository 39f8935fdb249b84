#include "bench/loadgen/latency_histogram.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace mla::bench {
namespace {

using H = LatencyHistogram;

TEST_CASE("loadgen histogram: buckets are contiguous and at most 1/128 of their value wide",
          "[loadgen][histogram]") {
  std::uint64_t lower = 0;
  for (std::size_t b = 0; b < H::kBuckets; ++b) {
    const std::uint64_t upper = H::bucket_upper(b);
    INFO("bucket " << b << " [" << lower << ", " << upper << "]");
    REQUIRE(upper >= lower);
    REQUIRE(H::bucket_of(lower) == b);
    REQUIRE(H::bucket_of(upper) == b);
    REQUIRE(static_cast<double>(upper - lower) <= static_cast<double>(lower) / 128.0);
    lower = upper + 1;
  }
  CHECK(H::bucket_upper(H::kBuckets - 1) >= H::kMaxMicros);
}

TEST_CASE("loadgen histogram: values up to 127 us are exact", "[loadgen][histogram]") {
  for (std::uint64_t v = 0; v < H::kLinearLimit; ++v) {
    CHECK(H::bucket_of(v) == v);
    CHECK(H::bucket_upper(v) == v);
  }
}

TEST_CASE("loadgen histogram: every value from 1 us to 60 s is reported within 1%",
          "[loadgen][histogram]") {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> exponent(0.0, 7.778);  // 10^7.778 = 60e6
  for (int i = 0; i < 100000; ++i) {
    const auto v = static_cast<std::uint64_t>(std::pow(10.0, exponent(rng)));
    if (v == 0 || v > H::kMaxMicros) continue;
    const std::uint64_t reported = H::bucket_upper(H::bucket_of(v));
    INFO("value " << v << " reported " << reported);
    REQUIRE(reported >= v);
    REQUIRE(static_cast<double>(reported - v) <= 0.01 * static_cast<double>(v));
  }
}

TEST_CASE("loadgen histogram: percentiles, mean, min and max of a uniform 1..10000 us series",
          "[loadgen][histogram]") {
  H h;
  for (std::uint64_t v = 1; v <= 10000; ++v) h.record(v);
  CHECK(h.count() == 10000);
  CHECK(h.mean() == Approx(5000.5));
  CHECK(h.min() == 1);
  CHECK(h.max() == 10000);
  struct Case {
    double percent;
    double want;
  };
  for (const Case& c :
       std::vector<Case>{{50, 5000}, {90, 9000}, {99, 9900}, {99.9, 9990}, {100, 10000}, {0, 1}}) {
    INFO("p" << c.percent);
    const auto got = static_cast<double>(h.percentile(c.percent));
    CHECK(got >= c.want);
    CHECK(got <= c.want * 1.01);
  }
}

TEST_CASE("loadgen histogram: an empty histogram reports zeros", "[loadgen][histogram]") {
  const H h;
  CHECK(h.count() == 0);
  CHECK(h.mean() == 0.0);
  CHECK(h.min() == 0);
  CHECK(h.max() == 0);
  CHECK(h.percentile(99) == 0);
}

TEST_CASE("loadgen histogram: one value is reported exactly at every percentile",
          "[loadgen][histogram]") {
  H h;
  h.record(123456);
  CHECK(h.percentile(0) == 123456);
  CHECK(h.percentile(50) == 123456);
  CHECK(h.percentile(100) == 123456);
}

TEST_CASE("loadgen histogram: values beyond 60 s land in the last bucket, max stays exact",
          "[loadgen][histogram]") {
  H h;
  h.record(H::kMaxMicros * 10);
  CHECK(H::bucket_of(H::kMaxMicros * 10) == H::kBuckets - 1);
  CHECK(h.max() == H::kMaxMicros * 10);
  CHECK(h.percentile(50) >= H::kMaxMicros);
}

TEST_CASE("loadgen histogram: merging per-thread histograms equals recording into one",
          "[loadgen][histogram]") {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> latency(7.0, 1.0);  // median ~1.1 ms
  H all;
  H parts[3];
  for (int i = 0; i < 30000; ++i) {
    const auto v = static_cast<std::uint64_t>(latency(rng));
    all.record(v);
    parts[i % 3].record(v);
  }
  H merged;
  for (const H& p : parts) merged.merge(p);
  CHECK(merged.count() == all.count());
  CHECK(merged.mean() == Approx(all.mean()));
  CHECK(merged.min() == all.min());
  CHECK(merged.max() == all.max());
  for (double p : {50.0, 90.0, 99.0, 99.9}) CHECK(merged.percentile(p) == all.percentile(p));
  merged.reset();
  CHECK(merged.count() == 0);
}

}  // namespace
}  // namespace mla::bench
