#include "gateway/ctl/tenant_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <vector>

#include "gateway/ctl/api_request.h"

namespace mla::ctl {
namespace {

constexpr std::size_t kMaxReasonWidth = 32;  // longer reasons are cut, "..." marks the cut
constexpr std::string_view kNone = "-";

// Terminal columns taken by UTF-8 TEXT: one per code point (no wide-glyph table; good enough for
// tenant IDs, which are ASCII, and for most reasons).
std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (char ch : text) {
    if ((static_cast<unsigned char>(ch) & 0xC0) != 0x80) ++width;
  }
  return width;
}

// At most MAX columns of TEXT, cut on a code-point boundary.
std::string truncate(std::string text, std::size_t max) {
  if (display_width(text) <= max) return text;
  std::size_t width = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (width == max - 3) return text.substr(0, i) + "...";
    ++width;
  }
  return text;
}

// A string field, or FALLBACK when it is missing, null, empty or not a string.
std::string text_field(const Json& object, std::string_view key, std::string_view fallback) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return std::string(fallback);
  }
  return one_line(it->get_ref<const std::string&>());
}

// object[a][b] as a number, or nullptr when any step is missing or not a number.
const Json* number_at(const Json& object, std::string_view a, std::string_view b) {
  auto outer = object.find(a);
  if (outer == object.end() || !outer->is_object()) return nullptr;
  auto inner = outer->find(b);
  if (inner == outer->end() || !inner->is_number()) return nullptr;
  return &*inner;
}

std::string rate_cell(const Json& tenant, std::string_view key) {
  const Json* value = number_at(tenant, "rates", key);
  return value ? fmt::format("{:.1f}", value->get<double>()) : std::string(kNone);
}

// Bytes per second with a binary unit: "512B", "1.5KiB", "4.0MiB".
std::string bytes_rate_cell(const Json& tenant, std::string_view key) {
  const Json* value = number_at(tenant, "rates", key);
  if (!value) return std::string(kNone);
  double bytes = value->get<double>();
  static constexpr std::array<std::string_view, 4> kUnits{"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return fmt::format("{:.0f}B", bytes);
  std::size_t unit = 0;
  bytes /= 1024;
  while (bytes >= 1024 && unit + 1 < kUnits.size()) {
    bytes /= 1024;
    ++unit;
  }
  return fmt::format("{:.1f}{}", bytes, kUnits[unit]);
}

// Sum of totals.rejected over every reason (the gateway may add reasons; all count).
std::string rejected_cell(const Json& tenant) {
  auto totals = tenant.find("totals");
  if (totals == tenant.end() || !totals->is_object()) return std::string(kNone);
  auto rejected = totals->find("rejected");
  if (rejected == totals->end() || !rejected->is_object()) return std::string(kNone);
  std::uint64_t sum = 0;
  for (const auto& count : *rejected) {
    if (count.is_number_unsigned()) sum += count.get<std::uint64_t>();
  }
  return std::to_string(sum);
}

bool is_enabled(const Json& tenant) {
  auto it = tenant.find("enabled");
  return it == tenant.end() || !it->is_boolean() || it->get<bool>();
}

// The UNTIL cell: "-" for an enabled tenant, "indefinite" for one disabled without an end.
std::string until_cell(const Json& tenant) {
  if (is_enabled(tenant)) return std::string(kNone);
  return text_field(tenant, "disabled_until", "indefinite");
}

struct Column {
  std::string_view title;
  bool right_aligned;
};

constexpr std::array<Column, 9> kColumns{{
    {"TENANT", false},
    {"ENABLED", false},
    {"REASON", false},
    {"UNTIL", false},
    {"REQ/S", true},
    {"SAMPLES/S", true},
    {"LINES/S", true},
    {"LOG-BYTES/S", true},
    {"REJECTED", true},
}};
using Row = std::array<std::string, kColumns.size()>;

Row tenant_row(const Json& tenant) {
  const bool enabled = is_enabled(tenant);
  return Row{
      one_line(tenant.at("tenant").get<std::string>()),
      enabled ? "yes" : "no",
      enabled ? std::string(kNone)
              : truncate(text_field(tenant, "disabled_reason", kNone), kMaxReasonWidth),
      until_cell(tenant),
      rate_cell(tenant, "requests_per_second"),
      rate_cell(tenant, "samples_per_second"),
      rate_cell(tenant, "log_lines_per_second"),
      bytes_rate_cell(tenant, "log_bytes_per_second"),
      rejected_cell(tenant),
  };
}

void append_row(std::string& out, const Row& row, const std::array<std::size_t, 9>& widths) {
  std::string line;
  for (std::size_t c = 0; c < row.size(); ++c) {
    if (c > 0) line += "  ";
    std::string pad(widths[c] - display_width(row[c]), ' ');
    line += kColumns[c].right_aligned ? pad + row[c] : row[c] + pad;
  }
  line.erase(line.find_last_not_of(' ') + 1);
  out += line;
  out += '\n';
}

// A scalar as status shows it: strings unquoted, null as "-", numbers and booleans as JSON.
std::string scalar_text(const Json& value) {
  if (value.is_null()) return std::string(kNone);
  if (value.is_string()) return one_line(value.get_ref<const std::string&>());
  if (value.is_structured()) return value.dump(-1, ' ', false, Json::error_handler_t::replace);
  return value.dump();
}

void append_status(std::string& out, const Json& object, std::size_t depth) {
  const std::string indent(depth * 2, ' ');
  for (const auto& [key, value] : object.items()) {
    const std::string name = one_line(key);
    if (value.is_object() && !value.empty()) {
      out += fmt::format("{}{}:\n", indent, name);
      append_status(out, value, depth + 1);
    } else if (value.is_array() && !value.empty()) {
      out += fmt::format("{}{}:\n", indent, name);
      for (const auto& item : value) {
        std::string line;
        if (item.is_object()) {
          for (const auto& [k, v] : item.items()) {
            if (!line.empty()) line += ", ";
            line += fmt::format("{}: {}", one_line(k), scalar_text(v));
          }
        } else {
          line = scalar_text(item);
        }
        out += fmt::format("{}  - {}\n", indent, line);
      }
    } else if (value.is_structured()) {
      out += fmt::format("{}{}: {}\n", indent, name, kNone);  // empty object or array
    } else {
      out += fmt::format("{}{}: {}\n", indent, name, scalar_text(value));
    }
  }
}

}  // namespace

std::string render_tenant_table(const Json& answer) {
  const Json& tenants = answer.at("tenants");
  if (!tenants.is_array()) {
    throw Json::type_error::create(302, "\"tenants\" is not an array", &tenants);
  }
  std::vector<Row> rows;
  rows.reserve(tenants.size() + 1);
  Row header;
  for (std::size_t c = 0; c < kColumns.size(); ++c) header[c] = std::string(kColumns[c].title);
  rows.push_back(header);
  for (const auto& tenant : tenants) rows.push_back(tenant_row(tenant));

  std::array<std::size_t, kColumns.size()> widths{};
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      widths[c] = std::max(widths[c], display_width(row[c]));
    }
  }
  std::string out;
  for (const auto& row : rows) append_row(out, row, widths);
  return out;
}

std::string render_status(const Json& answer) {
  if (!answer.is_object()) {
    throw Json::type_error::create(302, "status answer is not an object", &answer);
  }
  std::string out;
  append_status(out, answer, 0);
  return out;
}

std::string describe_tenant_change(const Json& entry) {
  const std::string tenant = one_line(entry.at("tenant").get<std::string>());
  if (entry.at("enabled").get<bool>()) return fmt::format("tenant {} enabled", tenant);
  std::string details;
  auto reason = text_field(entry, "disabled_reason", "");
  if (!reason.empty()) details = fmt::format("reason: {}, ", reason);
  auto until = text_field(entry, "disabled_until", "");
  details += until.empty() ? "indefinitely" : fmt::format("until {}", until);
  return fmt::format("tenant {} disabled ({})", tenant, details);
}

}  // namespace mla::ctl
