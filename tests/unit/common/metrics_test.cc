#include "gateway/common/metrics.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace mla::common {
namespace {

using namespace std::chrono_literals;

std::map<std::string, std::uint64_t> counters(const Family<Counter>& family) {
  std::map<std::string, std::uint64_t> out;
  family.visit([&](const std::vector<std::string>& labels, const Counter& value) {
    std::string key;
    for (const auto& label : labels) key += (key.empty() ? "" : "|") + label;
    out[key] = value.load();
  });
  return out;
}

TEST_CASE("a label set names one series; the same labels find the same counter", "[metrics]") {
  Family<Counter> family(2, 100);
  family.at({"a", "200"}).fetch_add(1);
  family.at({"a", "200"}).fetch_add(1);
  family.at({"a", "500"}).fetch_add(1);
  family.at({std::string_view("a\0b", 3),
             "1"});  // embedded separators do not collide with other label sets
  CHECK(counters(family) == std::map<std::string, std::uint64_t>{
                                {"a|200", 2}, {"a|500", 1}, {std::string("a\0b", 3) + "|1", 0}});
}

TEST_CASE("beyond max_series new label sets fold their first label into __other__", "[metrics]") {
  Family<Counter> family(2, 3);
  for (std::string tenant : {"t1", "t2", "t3", "t4", "t5"}) family.at({tenant, "200"}).fetch_add(1);
  family.at({"t1", "200"}).fetch_add(1);  // existing series keep counting on their own
  family.at({"t9", "429"}).fetch_add(1);
  CHECK(
      counters(family) ==
      std::map<std::string, std::uint64_t>{
          {"t1|200", 2}, {"t2|200", 1}, {"t3|200", 1}, {"__other__|200", 2}, {"__other__|429", 1}});
}

TEST_CASE("two families never share a thread's cached series", "[metrics]") {
  Family<Counter> first(1, 10);
  Family<Counter> second(1, 10);
  first.at({"x"}).fetch_add(5);
  CHECK(second.at({"x"}).load() == 0);
  CHECK(&first.at({"x"}) != &second.at({"x"}));
}

TEST_CASE("histogram buckets are inclusive upper bounds; the count includes +Inf", "[metrics]") {
  Histogram h;
  h.observe(0ns);
  h.observe(10ms);     // exactly the 0.01 bound
  h.observe(10001us);  // just above it
  h.observe(-5ms);     // a clock step backwards counts as 0
  h.observe(1h);
  auto s = h.snapshot();
  CHECK(s.cumulative[0] == 2);  // le 0.005: 0 and -5ms
  CHECK(s.cumulative[1] == 3);  // le 0.01
  CHECK(s.cumulative[2] == 4);  // le 0.025
  CHECK(s.cumulative.back() == 4);
  CHECK(s.count == 5);
  CHECK(s.sum == Approx(3600.020001));
}

TEST_CASE("request and upstream helpers fill the §7 families", "[metrics]") {
  RequestMetrics m;
  m.count_request("", "", 404);
  m.count_upstream("loki", 0, false, 1ms);
  m.count_upstream("loki", 0, true, 1ms);
  { RequestTimer timer(m); }
  CHECK(counters(m.requests) == std::map<std::string, std::uint64_t>{{"__none__|none|404", 1}});
  CHECK(counters(m.upstream_requests) ==
        std::map<std::string, std::uint64_t>{{"loki|error", 1}, {"loki|timeout", 1}});
  std::uint64_t observed = 0;
  m.request_duration.visit([&](const std::vector<std::string>& labels, const Histogram& h) {
    CHECK(labels == std::vector<std::string>{"none"});
    observed += h.snapshot().count;
  });
  CHECK(observed == 1);
}

TEST_CASE("concurrent recording from many threads loses no increments", "[metrics][concurrency]") {
  Family<Counter> family(2, 50);
  Family<Histogram> durations(1, 50);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // 100 tenants against a bound of 50 series: creation, lookup and overflow all race.
        family.at({"t" + std::to_string((i + t) % 100), "200"}).fetch_add(1);
        durations.at({"r"}).observe(1ms);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::uint64_t total = 0;
  for (const auto& [key, value] : counters(family)) total += value;
  CHECK(total == kThreads * kPerThread);
  CHECK(family.size() <= 50 + 16 + 1);  // bound, per-shard race slack, the overflow series
  durations.visit([&](const std::vector<std::string>&, const Histogram& h) {
    CHECK(h.snapshot().count == kThreads * kPerThread);
  });
}

}  // namespace
}  // namespace mla::common
