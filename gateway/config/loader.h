// YAML -> Config. Every error names the key path and line:column, e.g.
//   "config.yaml:12:5: server.idle_timeout: invalid duration \"5x\" (want e.g. 30s, 5m, 1h30m)".
#pragma once

#include <stdexcept>
#include <string>

#include "gateway/config/config.h"

namespace mla::config {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses and validates. Throws ConfigError (message as above). With check_files, files named in
// the config (paths relative to the working directory) must exist and be readable; their content is
// checked by the TLS layer. check_files=false is for tests and examples whose files don't exist.
Config load_config_file(const std::string& path, bool check_files = true);
Config load_config_string(const std::string& yaml, const std::string& source_name = "<string>",
                          bool check_files = true);

}  // namespace mla::config
