// Shared pieces of the config tests: a minimal valid document, the error-case checker that
// asserts "<file>:<line>:<col>: <key.path>: <reason>", and a directory of files for check_files.
// Test-only; header-only.
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
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

// Files named in the config: a temporary directory with the ones that should exist (the TLS files
// of kTls and a few more, each holding "x\n"); removed with the object. One at a time per process.
class TempFiles {
 public:
  TempFiles() {
    dir_ =
        std::filesystem::temp_directory_path() / ("mla-config-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_ / "subdir");
    for (const char* name : {"c.crt", "c.key", "ca.crt", "ca.crl", "up-ca.crt"}) {
      std::ofstream(dir_ / name) << "x\n";
    }
  }
  ~TempFiles() { std::filesystem::remove_all(dir_); }
  TempFiles(const TempFiles&) = delete;
  TempFiles& operator=(const TempFiles&) = delete;

  std::string operator()(const std::string& name) const { return (dir_ / name).string(); }
  // Writes `name` with `content`; returns its path.
  std::string write(const std::string& name, const std::string& content) const {
    std::ofstream(dir_ / name, std::ios::binary) << content;
    return (*this)(name);
  }

 private:
  std::filesystem::path dir_;
};

}  // namespace mla::config::testing
