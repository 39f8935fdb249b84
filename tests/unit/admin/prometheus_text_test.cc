#include "gateway/admin/prometheus_text.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace mla::admin {
namespace {

using namespace std::chrono_literals;

TEST_CASE("label values escape backslash, double quote and line feed only", "[admin]") {
  struct Case {
    std::string in, out;
  };
  const std::vector<Case> cases = {
      {"tenant-a", "tenant-a"},
      {R"(a\b)", R"(a\\b)"},
      {R"(say "hi")", R"(say \"hi\")"},
      {"two\nlines", R"(two\nlines)"},
      {"tab\tand 'quote'", "tab\tand 'quote'"},
      {"", ""},
  };
  for (const auto& c : cases) {
    INFO(c.in);
    CHECK(escape_label_value(c.in) == c.out);
  }
  CHECK(escape_help("a \"b\"\\\nc") == "a \"b\"\\\\\\nc");  // quotes stay in HELP
}

TEST_CASE("values are shortest round-trip decimals, infinities and NaN by name", "[admin]") {
  CHECK(format_value(0) == "0");
  CHECK(format_value(1) == "1");
  CHECK(format_value(0.005) == "0.005");
  CHECK(format_value(1700000000.5) == "1700000000.5");
  CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(format_value(std::nan("")) == "NaN");
}

TEST_CASE("samples carry HELP/TYPE once and labels in the given order", "[admin]") {
  TextWriter out;
  out.header("m_total", "counter", "Things.\nCounted.");
  out.sample("m_total", {{"tenant", "a\"b"}, {"code", "200"}}, std::uint64_t{7});
  out.sample("m_total", {}, 2.5);
  CHECK(out.text() ==
        "# HELP m_total Things.\\nCounted.\n"
        "# TYPE m_total counter\n"
        "m_total{tenant=\"a\\\"b\",code=\"200\"} 7\n"
        "m_total 2.5\n");
}

TEST_CASE("a histogram renders cumulative buckets, +Inf, _sum and _count", "[admin]") {
  common::Histogram h;
  h.observe(3ms);    // le 0.005
  h.observe(5ms);    // le 0.005 (bounds are inclusive)
  h.observe(700ms);  // le 1
  h.observe(200s);   // only +Inf
  TextWriter out;
  out.histogram("d_seconds", {{"route", "/x"}}, h.snapshot());
  const std::string& text = out.text();
  CHECK_THAT(text, Catch::Contains("d_seconds_bucket{route=\"/x\",le=\"0.005\"} 2\n"));
  CHECK_THAT(text, Catch::Contains("d_seconds_bucket{route=\"/x\",le=\"0.5\"} 2\n"));
  CHECK_THAT(text, Catch::Contains("d_seconds_bucket{route=\"/x\",le=\"1\"} 3\n"));
  CHECK_THAT(text, Catch::Contains("d_seconds_bucket{route=\"/x\",le=\"120\"} 3\n"));
  CHECK_THAT(text, Catch::Contains("d_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4\n"));
  CHECK_THAT(text, Catch::Contains("d_seconds_sum{route=\"/x\"} 200.708\n"));
  CHECK_THAT(text, Catch::EndsWith("d_seconds_count{route=\"/x\"} 4\n"));
  // One line per finite bucket, +Inf, _sum, _count.
  CHECK(std::count(text.begin(), text.end(), '\n') ==
        static_cast<long>(common::kDurationBuckets.size() + 3));
}

}  // namespace
}  // namespace mla::admin
