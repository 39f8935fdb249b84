// mla-gateway: mTLS ingest gateway for Cortex and Loki (see README.md and DESIGN.md §2).
#include <malloc.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "gateway/common/logging.h"
#include "gateway/config/loader.h"
#include "gateway/server/runtime.h"
#include "gateway/server/server.h"

int main(int argc, char** argv) {
  // Request bodies (up to max_request_body_bytes) come and go on every request: keep them in the
  // heap instead of a fresh mmap + page faults + munmap each time (glibc's default above 128 KiB),
  // and do not hand freed heap back to the kernel on every request either.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  CLI::App app{"mla-gateway: mTLS ingest gateway for Cortex and Loki"};
  std::string config_file;
  std::string level_name = "info";
  std::string format_name = "logfmt";
  bool check_config = false;
  bool show_version = false;
  app.add_option("--config.file", config_file, "YAML configuration file");
  app.add_flag("--check-config", check_config, "Validate the configuration and exit (0 or 1)");
  app.add_option("--log.level", level_name, "debug | info | warn | error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  app.add_option("--log.format", format_name, "logfmt | json")
      ->check(CLI::IsMember({"logfmt", "json"}));
  app.add_flag("--version", show_version, "Print the version and exit");
  CLI11_PARSE(app, argc, argv);

  if (show_version) {
    std::cout << "mla-gateway " << MLA_VERSION << "\n";
    return 0;
  }
  if (config_file.empty()) {
    std::cerr << "mla-gateway: --config.file is required\n";
    return 1;
  }
  mla::log::Level level{};
  mla::log::Format format{};
  mla::log::parse_level(level_name, level);
  mla::log::parse_format(format_name, format);
  mla::log::init(level, format);

  auto load = [&config_file] {
    return mla::server::build_runtime(mla::config::load_config_file(config_file));
  };
  std::shared_ptr<const mla::server::Runtime> runtime;
  try {
    runtime = load();
  } catch (const std::exception& e) {
    std::cerr << "mla-gateway: " << e.what() << "\n";
    return 1;
  }
  if (check_config) {
    std::cout << config_file << ": configuration OK\n";
    return 0;
  }

  std::signal(SIGPIPE, SIG_IGN);  // a peer closing mid-write is an error code, not a signal
  try {
    mla::server::Server server(std::move(runtime), load);
    server.start();
    return server.wait();
  } catch (const std::exception& e) {
    mla::log::error("cannot start", {{"error", e.what()}});
    return 1;
  }
}
