#include "gateway/common/units.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace mla::common {
namespace {

using std::chrono::milliseconds;

TEST_CASE("parse_duration accepts Prometheus-style durations", "[units]") {
  struct Case {
    std::string text;
    milliseconds want;
  };
  const std::vector<Case> cases = {
      {"0", milliseconds(0)},
      {"0s", milliseconds(0)},
      {"250ms", milliseconds(250)},
      {"1s", milliseconds(1000)},
      {"30s", milliseconds(30'000)},
      {"5m", milliseconds(300'000)},
      {"1h", milliseconds(3'600'000)},
      {"1h30m", milliseconds(5'400'000)},
      {"1h30m15s500ms", milliseconds(5'415'500)},
      {"1d", milliseconds(86'400'000)},
      {"1w", milliseconds(604'800'000)},
      {"2w3d", milliseconds(17LL * 86'400'000)},
      {"90s", milliseconds(90'000)},  // no carry limit per unit
      {"120m", milliseconds(7'200'000)},
      {"1m0s", milliseconds(60'000)},
      {"007s", milliseconds(7000)},
      {"9223372036854775807ms", milliseconds(INT64_MAX)},
      {"15250284452w", milliseconds(15'250'284'452LL * 604'800'000LL)},
  };
  for (const auto& c : cases) {
    INFO("input: " << c.text);
    auto got = parse_duration(c.text);
    REQUIRE(got.has_value());
    CHECK(*got == c.want);
  }
}

TEST_CASE("parse_duration rejects malformed, negative and overflowing durations", "[units]") {
  const std::vector<std::string> cases = {
      "",                       // empty
      "5",                      // number without unit
      "5x",                     // unknown unit
      "s",                      // unit without number
      "-5s",                    // negative
      "+5s",                    // sign
      "1.5s",                   // fraction
      "5 s",                    // space inside
      " 5s",                    // leading space
      "5s ",                    // trailing space
      "5S",                     // units are case-sensitive
      "1y",                     // years not supported
      "10us",                   // below millisecond resolution
      "100ns",                  //
      "30m1h",                  // units out of order
      "1s1s",                   // unit repeated
      "1m1m",                   //
      "500ms1s",                // ms must come last
      "1h30",                   // trailing number
      "9223372036854775808ms",  // > int64 milliseconds
      "99999999999999999999s",  // > uint64 digits
      "15250284453w",           // weeks overflow int64 milliseconds (but not uint64)
      "abc",                    //
  };
  for (const auto& text : cases) {
    INFO("input: \"" << text << "\"");
    CHECK_FALSE(parse_duration(text).has_value());
  }
}

TEST_CASE("parse_size accepts bytes with decimal and binary units", "[units]") {
  struct Case {
    std::string text;
    std::uint64_t want;
  };
  const std::vector<Case> cases = {
      {"0", 0},
      {"1024", 1024},
      {"1024B", 1024},
      {"4KB", 4000},
      {"4MB", 4'000'000},
      {"2GB", 2'000'000'000},
      {"1TB", 1'000'000'000'000ULL},
      {"512KiB", 512 * 1024},
      {"16MiB", 16ULL << 20},
      {"1GiB", 1ULL << 30},
      {"3TiB", 3ULL << 40},
      {"18446744073709551615", UINT64_MAX},
      {"16777215TiB", 16777215ULL << 40},
  };
  for (const auto& c : cases) {
    INFO("input: " << c.text);
    auto got = parse_size(c.text);
    REQUIRE(got.has_value());
    CHECK(*got == c.want);
  }
}

TEST_CASE("parse_size rejects malformed, negative and overflowing sizes", "[units]") {
  const std::vector<std::string> cases = {
      "",                      // empty
      "MiB",                   // unit without number
      "-1",                    // negative
      "+1",                    // sign
      "1.5MiB",                // fraction
      "16 MiB",                // space inside
      "16mib",                 // units are case-sensitive
      "16Mi",                  // Kubernetes quantity suffix is not a size unit here
      "16M",                   //
      "16MiBs",                // trailing garbage
      "0x10",                  // hex
      "18446744073709551616",  // > uint64
      "16777216TiB",           // unit multiplication overflows uint64
      "abc",                   //
  };
  for (const auto& text : cases) {
    INFO("input: \"" << text << "\"");
    CHECK_FALSE(parse_size(text).has_value());
  }
}

}  // namespace
}  // namespace mla::common
