// Semantic checks on a loaded Config (DESIGN.md §3): required values, ranges (including the limits
// statuses), tenant IDs (including limits override keys), the tenant pattern, route -> upstream
// references (write and read routes), route rewrites, upstream TLS settings, file readability, the
// admin and read listen addresses and the read listener's tenant and TLS settings. The loader has
// already checked keys, types and value syntax; both report errors through a SourceMap so every
// message names the key path and its line:column.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "gateway/config/config.h"

namespace mla::config {

// 1-based position in the YAML text.
struct SourceLocation {
  int line = 1;
  int column = 1;
};

// Key path ("server.listen", "routes[2].upstream", "upstreams.cortex.tls") -> where its value
// starts in the YAML text. Filled by the loader for every key it reads; read-only afterwards.
class SourceMap {
 public:
  explicit SourceMap(std::string source_name) : source_name_(std::move(source_name)) {}

  void add(std::string path, SourceLocation at) {
    locations_.insert_or_assign(std::move(path), at);
  }
  bool has(std::string_view path) const { return locations_.find(path) != locations_.end(); }
  // Location of `path`, else of its nearest recorded ancestor (so a missing key points at the map
  // that should hold it), else 1:1.
  SourceLocation find(std::string_view path) const;

  // Throw ConfigError "<source>:<line>:<col>: <path>: <reason>".
  [[noreturn]] void fail(std::string_view path, std::string_view reason) const;
  [[noreturn]] void fail_at(SourceLocation at, std::string_view path,
                            std::string_view reason) const;

  const std::string& source_name() const { return source_name_; }

 private:
  std::string source_name_;
  std::map<std::string, SourceLocation, std::less<>> locations_;
};

// Throws ConfigError for the first rule `config` breaks. With check_files, every TLS file named in
// the config must be a readable regular file.
void validate(const Config& config, const SourceMap& where, bool check_files);

// `text` in double quotes for messages, with quotes, backslashes and control chars escaped.
std::string quote(std::string_view text);

}  // namespace mla::config
