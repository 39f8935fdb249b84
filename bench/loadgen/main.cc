// mla-loadgen: mTLS HTTP/1.1 and HTTP/2 load generator for the gateway benchmark
// (bench/loadgen/README.md). Exit status: 0 the run happened (error responses are reported, not
// fatal), 1 it could not run (unusable files, no connection), 2 usage.
#include <sys/resource.h>

#include <chrono>
#include <fstream>
#include <iostream>

#include "bench/loadgen/options.h"
#include "bench/loadgen/report.h"
#include "bench/loadgen/request.h"
#include "bench/loadgen/runner.h"
#include "bench/loadgen/tls_client.h"

namespace {

// Idle mode holds 10,000+ sockets: take every descriptor the hard limit allows.
void raise_open_files_limit(int connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < static_cast<rlim_t>(connections) + 64) {
    std::cerr << "mla-loadgen: warning: open files limit " << limit.rlim_cur << " is below "
              << connections << " connections\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mla::bench;
  const auto wall_start = std::chrono::steady_clock::now();
  Options options;
  if (auto code = parse_options(argc, argv, options)) return *code;
  raise_open_files_limit(options.connections);

  const Body body = make_body(options);
  std::unique_ptr<ClientTls> tls;
  if (!options.plain) {
    std::string error;
    tls = ClientTls::create(options, error);
    if (!tls) {
      std::cerr << "mla-loadgen: " << error << "\n";
      return 1;
    }
  }

  RunResult result;
  const int code = run_load(options, body, tls.get(), result);
  const double wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  const nlohmann::json report = report_json(options, body, result, wall_seconds);
  if (!options.quiet) print_summary(std::cerr, report);
  if (!options.json_out.empty()) {
    std::ofstream out(options.json_out);
    out << report.dump(2) << "\n";
    if (!out) {
      std::cerr << "mla-loadgen: cannot write --json-out " << options.json_out << "\n";
      return 1;
    }
  }
  return code;
}
