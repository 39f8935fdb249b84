#include "gateway/config/yaml_reader.h"

#include <charconv>
#include <cmath>
#include <system_error>

#include "gateway/common/units.h"

namespace mla::config {
namespace {

constexpr std::string_view kDurationHint = "(want e.g. 30s, 5m, 1h30m)";
constexpr std::string_view kSizeHint = "(want e.g. 1024, 512KiB, 16MiB, 4MB)";
constexpr std::string_view kNumberHint = "(want a number >= 0, e.g. 25000 or 0.5)";
constexpr std::string_view kBytesHint = "(want a size or a number of bytes, e.g. 4MiB, 1048576)";

std::string list_keys(Keys keys) {
  std::string out;
  for (std::string_view key : keys) {
    if (!out.empty()) out += ", ";
    out += key;
  }
  return out;
}

// Whole-text decimal (std::from_chars: no leading '+' or whitespace, no hex); nullopt unless
// finite. Negative values are returned so the caller can say "must not be negative".
std::optional<double> parse_decimal(std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::general);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

SourceLocation location_of(const YAML::Mark& mark) {
  if (mark.is_null()) return SourceLocation{};
  return SourceLocation{mark.line + 1, mark.column + 1};
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "scalar " + quote(node.Scalar());
    default: return "an empty value";
  }
}

std::string item_path(std::string_view parent, std::size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

std::string Values::string(const YAML::Node& node, const std::string& path) const {
  if (node.IsNull()) return "";
  if (!node.IsScalar()) where_.fail(path, "want a string, got " + describe(node));
  return node.Scalar();
}

std::uint64_t Values::uint(const YAML::Node& node, const std::string& path,
                           std::uint64_t max) const {
  std::string text = scalar(node, path, "an unsigned integer");
  std::uint64_t value = 0;
  bool ok = !text.empty();
  for (char c : text) {
    auto digit = static_cast<std::uint64_t>(c - '0');
    if (c < '0' || c > '9' || value > (max - digit) / 10) {
      ok = false;
      break;
    }
    value = value * 10 + digit;
  }
  if (!ok) {
    where_.fail(
        path, "invalid unsigned integer " + quote(text) + " (want 0.." + std::to_string(max) + ")");
  }
  return value;
}

bool Values::boolean(const YAML::Node& node, const std::string& path) const {
  std::string text = scalar(node, path, "true or false");
  bool value = false;
  if (!YAML::convert<bool>::decode(node, value)) {
    where_.fail(path, "invalid boolean " + quote(text) + " (want true or false)");
  }
  return value;
}

Duration Values::duration(const YAML::Node& node, const std::string& path) const {
  std::string text = scalar(node, path, "a duration");
  auto value = common::parse_duration(text);
  if (!value) {
    where_.fail(path, "invalid duration " + quote(text) + " " + std::string(kDurationHint));
  }
  return *value;
}

std::uint64_t Values::size(const YAML::Node& node, const std::string& path) const {
  std::string text = scalar(node, path, "a size");
  auto value = common::parse_size(text);
  if (!value) where_.fail(path, "invalid size " + quote(text) + " " + std::string(kSizeHint));
  return *value;
}

double Values::number(const YAML::Node& node, const std::string& path) const {
  std::string text = scalar(node, path, "a number");
  auto value = parse_decimal(text);
  if (!value) where_.fail(path, "invalid number " + quote(text) + " " + std::string(kNumberHint));
  if (*value < 0 || text.starts_with('-')) where_.fail(path, "must not be negative, got " + text);
  return *value;
}

double Values::bytes(const YAML::Node& node, const std::string& path) const {
  std::string text = scalar(node, path, "a size");
  if (auto size = common::parse_size(text)) return static_cast<double>(*size);
  auto value = parse_decimal(text);
  if (!value) where_.fail(path, "invalid size " + quote(text) + " " + std::string(kBytesHint));
  if (*value < 0 || text.starts_with('-')) where_.fail(path, "must not be negative, got " + text);
  return *value;
}

std::string Values::scalar(const YAML::Node& node, const std::string& path,
                           std::string_view want) const {
  if (!node.IsScalar()) {
    where_.fail(path, "want " + std::string(want) + ", got " + describe(node));
  }
  return node.Scalar();
}

MapReader::MapReader(SourceMap& where, const YAML::Node& node, std::string path, Keys known,
                     Keys not_yet)
    : where_(where), values_(where), path_(std::move(path)) {
  if (node.IsNull()) return;
  if (!node.IsMap()) {
    where_.fail(path_, "want a map" + std::string(path_.empty() ? " at the top level" : "") +
                           ", got " + describe(node));
  }
  for (const auto& entry : node) {
    const YAML::Node& key = entry.first;
    SourceLocation key_at = location_of(key.Mark());
    if (!key.IsScalar()) where_.fail_at(key_at, path_, "map keys must be strings");
    std::string name = key.Scalar();
    std::string key_path = child(name);
    for (std::string_view future : not_yet) {
      if (name == future) where_.fail_at(key_at, key_path, "key not supported (yet)");
    }
    bool is_known = false;
    for (std::string_view k : known) is_known = is_known || name == k;
    if (!is_known) {
      where_.fail_at(key_at, key_path,
                     "unknown key " + quote(name) + " (known keys here: " + list_keys(known) + ")");
    }
    for (const auto& seen : entries_) {
      if (seen.first == name) where_.fail_at(key_at, key_path, "duplicate key");
    }
    // A null value has no position of its own; point at its key instead.
    const YAML::Node& value = entry.second;
    where_.add(key_path, value.IsNull() ? key_at : location_of(value.Mark()));
    entries_.emplace_back(name, value);
  }
}

std::optional<YAML::Node> MapReader::get(std::string_view key) const {
  for (const auto& [name, value] : entries_) {
    if (name == key) return value;
  }
  return std::nullopt;
}

void MapReader::string_list(std::string_view key, std::vector<std::string>& out) const {
  auto n = get(key);
  if (!n) return;
  out.clear();
  std::string path = child(key);
  if (n->IsNull()) return;
  if (!n->IsSequence()) where_.fail(path, "want a list of strings, got " + describe(*n));
  for (std::size_t i = 0; i < n->size(); ++i) {
    YAML::Node item = (*n)[i];
    std::string at = item_path(path, i);
    where_.add(at, location_of(item.Mark()));
    out.push_back(values_.string(item, at));
  }
}

}  // namespace mla::config
