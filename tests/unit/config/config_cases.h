// Shared pieces of the config tests: a minimal valid document and the error-case checker that
// asserts "<file>:<line>:<col>: <key.path>: <reason>". Test-only; header-only.
#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "gateway/config/loader.h"

namespace mla::config::testing {

// A minimal valid config; cases that append lines start at line 6.
inline const std::string kTls =
    "tls: {cert_file: c.crt, key_file: c.key, client_ca_file: ca.crt}\n";
inline const std::string kRoutes =
    "routes:\n"
    "  - {path: /api/v1/push, kind: prometheus_remote_write, upstream: cortex}\n";
inline const std::string kUpstreams =
    "upstreams:\n"
    "  cortex: {url: \"http://cortex:8080\"}\n";
inline const std::string kBase = kTls + kRoutes + kUpstreams;

struct ErrorCase {
  std::string name;
  std::string yaml;
  std::string at;      // "line:column"
  std::string path;    // key path; empty for errors about the document itself
  std::string reason;  // substring of the message after the path
};

inline void check_error(const ErrorCase& c, bool check_files = false) {
  INFO("case: " << c.name << "\n--- yaml ---\n" << c.yaml << "------------");
  std::string prefix = "gw.yaml:" + c.at + ": " + (c.path.empty() ? "" : c.path + ": ");
  try {
    load_config_string(c.yaml, "gw.yaml", check_files);
    FAIL("no ConfigError; want " << prefix << c.reason);
  } catch (const ConfigError& e) {
    std::string message = e.what();
    CHECK_THAT(message, Catch::Matchers::StartsWith(prefix));
    CHECK_THAT(message, Catch::Matchers::Contains(c.reason));
  }
}

}  // namespace mla::config::testing
