// mla-scanner-bench: throughput of the payload scanner (ingest::scan_payload) on realistic push
// bodies, one worker thread, scratch buffers reused as a worker reuses them. The bodies are built
// with the generated protobuf classes (mla_test_proto) from a fixed seed, so every run measures
// the same bytes; each is scanned once and its counts checked before it is timed.
//
//   mla-scanner-bench [--seconds S] [--max-iterations N] [--body NAME]... [--json]
//
// Rates: "MB/s" is 10^6 bytes of the request body as received (compressed) per second; "raw MB/s"
// is the same for the bytes after every decompression layer. Results: bench/SCANNER.md.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/payloads.h"
#include "gateway/ingest/payload_scanner.h"

namespace mla::bench {
namespace {

using ingest::Counts;

struct Measurement {
  std::uint64_t iterations = 0;
  double seconds = 0;
  double requests_per_second() const { return iterations / seconds; }
  double mb_per_second(std::size_t bytes) const {
    return static_cast<double>(bytes) * iterations / seconds / 1e6;
  }
};

// Scans `body` until `seconds` have passed or `max_iterations` scans are done (at least one).
Measurement measure(const Body& body, double seconds, std::uint64_t max_iterations) {
  using Clock = std::chrono::steady_clock;
  const ingest::RequestInfo info{body.content_type, body.content_encoding};
  ingest::ScanBuffers scratch;
  // One untimed scan sizes the scratch buffers, as on a worker that has served requests before.
  std::uint64_t checksum = ingest::scan_payload(body.kind, info, body.bytes, scratch).counts.series;
  Measurement m;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  auto now = start;
  do {
    checksum += ingest::scan_payload(body.kind, info, body.bytes, scratch).counts.series;
    ++m.iterations;
    now = Clock::now();
  } while (now < deadline && m.iterations < max_iterations);
  m.seconds = std::chrono::duration<double>(now - start).count();
  // Every scan counted the same series: anything else means a scan failed mid-run.
  if (checksum != (m.iterations + 1) * body.expected.series) {
    std::fprintf(stderr, "mla-scanner-bench: %s: scan results changed between runs\n",
                 body.name.c_str());
    std::exit(1);
  }
  return m;
}

nlohmann::json counts_json(const Counts& c) {
  return {{"series", c.series},       {"samples", c.samples},   {"histograms", c.histograms},
          {"exemplars", c.exemplars}, {"metadata", c.metadata}, {"log_lines", c.log_lines},
          {"log_bytes", c.log_bytes}};
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("model name")) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

std::vector<double> load_average() {
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) != 3) return {};
  return {load[0], load[1], load[2]};
}

int run(int argc, char** argv) {
  CLI::App app{"mla-scanner-bench: payload scanner throughput (bench/SCANNER.md)"};
  double seconds = 3;
  std::uint64_t max_iterations = 1000000000;
  std::vector<std::string> only;
  bool json = false;
  app.add_option("--seconds", seconds, "Time spent scanning each body")
      ->check(CLI::Range(0.001, 3600.0));
  app.add_option("--max-iterations", max_iterations, "Upper bound on scans of each body")
      ->check(CLI::PositiveNumber);
  app.add_option("--body", only, "Only the bodies with these names (default: all)");
  app.add_flag("--json", json, "Print the results as one JSON object instead of a table");
  CLI11_PARSE(app, argc, argv);

  std::vector<Body> bodies;
  bodies.push_back(remote_write_v1());
  bodies.push_back(remote_write_v2());
  bodies.push_back(loki_proto_body());
  bodies.push_back(loki_json_body());
  bodies.push_back(loki_json_body(kDefaultLokiBytes, /*gzip=*/true));
  if (!only.empty()) {
    std::erase_if(bodies, [&only](const Body& body) {
      return std::find(only.begin(), only.end(), body.name) == only.end();
    });
    if (bodies.empty()) {
      std::cerr << "mla-scanner-bench: no body matches --body\n";
      return 1;
    }
  }

  // A benchmark of the wrong path is worse than none: each body must scan to its known counts.
  for (const Body& body : bodies) {
    ingest::ScanBuffers scratch;
    const ingest::ScanResult result = ingest::scan_payload(
        body.kind, {body.content_type, body.content_encoding}, body.bytes, scratch);
    if (!result.ok() || result.counts != body.expected) {
      std::cerr << "mla-scanner-bench: " << body.name << ": scan gave status " << result.http_status
                << " " << result.reason << " counts " << counts_json(result.counts).dump()
                << ", want " << counts_json(body.expected).dump() << "\n";
      return 1;
    }
  }

  const std::vector<double> load_before = load_average();
  nlohmann::json results = nlohmann::json::array();
  if (!json) {
    std::printf("%-20s %9s %9s %9s %9s %9s %9s %10s\n", "body", "bytes", "raw bytes", "scans",
                "req/s", "MB/s", "raw MB/s", "us/req");
  }
  for (const Body& body : bodies) {
    const Measurement m = measure(body, seconds, max_iterations);
    if (json) {
      results.push_back({{"body", body.name},
                         {"content_type", body.content_type},
                         {"content_encoding", body.content_encoding},
                         {"bytes", body.bytes.size()},
                         {"raw_bytes", body.raw_bytes},
                         {"counts", counts_json(body.expected)},
                         {"iterations", m.iterations},
                         {"seconds", m.seconds},
                         {"requests_per_second", m.requests_per_second()},
                         {"mb_per_second", m.mb_per_second(body.bytes.size())},
                         {"raw_mb_per_second", m.mb_per_second(body.raw_bytes)}});
    } else {
      std::printf("%-20s %9zu %9zu %9llu %9.0f %9.1f %9.1f %10.1f\n", body.name.c_str(),
                  body.bytes.size(), body.raw_bytes, static_cast<unsigned long long>(m.iterations),
                  m.requests_per_second(), m.mb_per_second(body.bytes.size()),
                  m.mb_per_second(body.raw_bytes), 1e6 / m.requests_per_second());
      std::fflush(stdout);
    }
  }
  const std::vector<double> load_after = load_average();
  if (json) {
    std::cout << nlohmann::json{{"cpu", cpu_model()},
                                {"cpus", std::thread::hardware_concurrency()},
                                {"seconds_per_body", seconds},
                                {"load_average_before", load_before},
                                {"load_average_after", load_after},
                                {"results", results}}
                     .dump(2)
              << "\n";
  } else if (load_after.size() == 3) {
    std::printf("cpu: %s x %u; load average %.2f %.2f %.2f (1/5/15 min, after the run)\n",
                cpu_model().c_str(), std::thread::hardware_concurrency(), load_after[0],
                load_after[1], load_after[2]);
  }
  return 0;
}

}  // namespace
}  // namespace mla::bench

int main(int argc, char** argv) { return mla::bench::run(argc, argv); }
