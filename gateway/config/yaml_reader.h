// Typed reads of yaml-cpp nodes for the config loaders (loader.cc, limits_loader.cc): scalar
// conversions and a map reader that rejects unknown and duplicate keys. Every value read is
// recorded in a SourceMap under its key path, and every error names that path and line:column.
// Start-up only; not thread-safe (the SourceMap is being filled).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/config/validator.h"

namespace mla::config {

using Keys = std::initializer_list<std::string_view>;

// 1-based position of a yaml-cpp mark (0-based); 1:1 for a null mark.
SourceLocation location_of(const YAML::Mark& mark);
// "a map", "a list", "scalar \"x\"" or "an empty value", for "want ..., got ..." messages.
std::string describe(const YAML::Node& node);
// "parent[index]".
std::string item_path(std::string_view parent, std::size_t index);

// Scalar conversions: each fails at `path` (whose location the caller has recorded).
class Values {
 public:
  explicit Values(const SourceMap& where) : where_(where) {}

  std::string string(const YAML::Node& node, const std::string& path) const;
  std::uint64_t uint(const YAML::Node& node, const std::string& path,
                     std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) const;
  bool boolean(const YAML::Node& node, const std::string& path) const;
  Duration duration(const YAML::Node& node, const std::string& path) const;
  std::uint64_t size(const YAML::Node& node, const std::string& path) const;
  // A finite decimal >= 0 ("25000", "0.5", "1e6"); rates and bursts.
  double number(const YAML::Node& node, const std::string& path) const;
  // A byte count given as a size ("4MiB", "512KiB", "1024") or as a number >= 0 ("1.5e6").
  double bytes(const YAML::Node& node, const std::string& path) const;

  template <typename E>
  E choice(const YAML::Node& node, const std::string& path,
           std::initializer_list<std::pair<std::string_view, E>> options) const {
    std::string text = scalar(node, path, "a string");
    std::string names;
    for (const auto& [name, value] : options) {
      if (text == name) return value;
      names += names.empty() ? "" : ", ";
      names += name;
    }
    where_.fail(path, "invalid value " + quote(text) + " (want one of: " + names + ")");
  }

 private:
  std::string scalar(const YAML::Node& node, const std::string& path, std::string_view want) const;

  const SourceMap& where_;
};

// One YAML map at `path`: rejects unknown and duplicate keys, records where each value is, and
// hands out values by key. A null node (e.g. `tenant:` with nothing under it) reads as empty.
// Keys in `not_yet` are documented but not implemented: "key not supported (yet)".
class MapReader {
 public:
  MapReader(SourceMap& where, const YAML::Node& node, std::string path, Keys known,
            Keys not_yet = {});

  std::string child(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  std::optional<YAML::Node> get(std::string_view key) const;

  // Overwrite `out` only when the key is present, so absent keys keep their defaults.
  void string(std::string_view key, std::string& out) const {
    if (auto n = get(key)) out = values_.string(*n, child(key));
  }
  template <typename T>
  void uint(std::string_view key, T& out) const {
    if (auto n = get(key)) {
      out = static_cast<T>(values_.uint(*n, child(key), std::numeric_limits<T>::max()));
    }
  }
  void boolean(std::string_view key, bool& out) const {
    if (auto n = get(key)) out = values_.boolean(*n, child(key));
  }
  void duration(std::string_view key, Duration& out) const {
    if (auto n = get(key)) out = values_.duration(*n, child(key));
  }
  void size(std::string_view key, std::uint64_t& out) const {
    if (auto n = get(key)) out = values_.size(*n, child(key));
  }
  void number(std::string_view key, double& out) const {
    if (auto n = get(key)) out = values_.number(*n, child(key));
  }
  void bytes(std::string_view key, double& out) const {
    if (auto n = get(key)) out = values_.bytes(*n, child(key));
  }
  void string_list(std::string_view key, std::vector<std::string>& out) const;

  const Values& values() const { return values_; }

 private:
  SourceMap& where_;
  Values values_;
  std::string path_;
  std::vector<std::pair<std::string, YAML::Node>> entries_;  // in document order
};

}  // namespace mla::config
