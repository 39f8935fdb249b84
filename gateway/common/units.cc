#include "gateway/common/units.h"

#include <array>
#include <limits>

namespace mla::common {
namespace {

struct Unit {
  std::string_view suffix;
  std::uint64_t factor;
};

// Reads a run of decimal digits from the front of `text` into `out`. False if there is no digit or
// the value overflows uint64.
bool take_digits(std::string_view& text, std::uint64_t& out) {
  std::size_t i = 0;
  std::uint64_t value = 0;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    auto digit = static_cast<std::uint64_t>(text[i] - '0');
    if (value > (kMax - digit) / 10) return false;
    value = value * 10 + digit;
    ++i;
  }
  if (i == 0) return false;
  text.remove_prefix(i);
  out = value;
  return true;
}

// a * b + c, or false when the result would exceed `limit`.
bool checked_mul_add(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t limit,
                     std::uint64_t& out) {
  if (b != 0 && a > limit / b) return false;
  std::uint64_t product = a * b;
  if (product > limit - c) return false;
  out = product + c;
  return true;
}

}  // namespace

// Prometheus model.ParseDuration without `y`: units in descending order, each at most once, e.g.
// "1h30m", "1d12h", "250ms"; "0" alone is allowed. No sign, fraction or whitespace.
std::optional<config::Duration> parse_duration(std::string_view text) {
  // Longest suffix first where one is a prefix of another ("ms" before "m").
  static constexpr std::array<Unit, 6> kUnits{{
      {"w", 7ULL * 24 * 3600 * 1000},
      {"d", 24ULL * 3600 * 1000},
      {"h", 3600ULL * 1000},
      {"ms", 1},
      {"m", 60ULL * 1000},
      {"s", 1000},
  }};
  // Order the units must appear in (largest first); index into kUnits.
  static constexpr std::array<std::size_t, 6> kRank{0, 1, 2, 5, 3, 4};
  if (text == "0") return config::Duration(0);
  if (text.empty()) return std::nullopt;

  constexpr auto kLimit =
      static_cast<std::uint64_t>(std::numeric_limits<config::Duration::rep>::max());
  std::uint64_t total_ms = 0;
  std::size_t next_rank = 0;  // units of a lower rank than this were already used
  while (!text.empty()) {
    std::uint64_t value = 0;
    if (!take_digits(text, value)) return std::nullopt;
    std::size_t unit = kUnits.size();
    for (std::size_t u = 0; u < kUnits.size(); ++u) {
      if (text.starts_with(kUnits[u].suffix)) {
        unit = u;
        break;
      }
    }
    if (unit == kUnits.size() || kRank[unit] < next_rank) return std::nullopt;
    next_rank = kRank[unit] + 1;
    text.remove_prefix(kUnits[unit].suffix.size());
    if (!checked_mul_add(value, kUnits[unit].factor, total_ms, kLimit, total_ms)) {
      return std::nullopt;
    }
  }
  return config::Duration(static_cast<config::Duration::rep>(total_ms));
}

// "<digits>[unit]": decimal (B, KB=1000, MB, GB, TB) or binary (KiB=1024, MiB, GiB, TiB) units,
// case-sensitive; no unit means bytes. No sign, fraction or whitespace.
std::optional<std::uint64_t> parse_size(std::string_view text) {
  static constexpr std::array<Unit, 10> kUnits{{
      {"", 1},
      {"B", 1},
      {"KB", 1000ULL},
      {"MB", 1000ULL * 1000},
      {"GB", 1000ULL * 1000 * 1000},
      {"TB", 1000ULL * 1000 * 1000 * 1000},
      {"KiB", 1ULL << 10},
      {"MiB", 1ULL << 20},
      {"GiB", 1ULL << 30},
      {"TiB", 1ULL << 40},
  }};
  std::uint64_t value = 0;
  if (!take_digits(text, value)) return std::nullopt;
  for (const auto& unit : kUnits) {
    if (text != unit.suffix) continue;
    std::uint64_t bytes = 0;
    if (!checked_mul_add(value, unit.factor, 0, std::numeric_limits<std::uint64_t>::max(), bytes)) {
      return std::nullopt;
    }
    return bytes;
  }
  return std::nullopt;
}

}  // namespace mla::common
