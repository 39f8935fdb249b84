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
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gateway/ingest/payload_scanner.h"
#include "logproto/push.pb.h"
#include "prompb/io/prometheus/write/v2/types.pb.h"
#include "prompb/remote.pb.h"
#include "tests/unit/ingest/test_codec.h"

namespace mla::bench {
namespace {

using config::RouteKind;
using ingest::Counts;
namespace codec = ingest::testing;
namespace v2 = ::io::prometheus::write::v2;

constexpr std::uint32_t kSeed = 20240611;
constexpr int kSeries = 2000;                     // remote-write bodies: series × 1 sample
constexpr std::size_t kLokiBodyBytes = 1u << 20;  // Loki bodies: ~1 MiB on the wire
constexpr std::int64_t kStartMs = 1732543250000;  // first sample timestamp (ms since epoch)
constexpr std::string_view kV1Type = "application/x-protobuf";
constexpr std::string_view kV2Type = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

// One request as a client sends it, and what the scanner must count in it.
struct Body {
  std::string name;
  RouteKind kind;
  std::string content_type;
  std::string content_encoding;
  std::string bytes;          // the request body as sent
  std::size_t raw_bytes = 0;  // after every decompression layer
  Counts expected;
};

class Random {
 public:
  explicit Random(std::uint32_t seed) : engine_(seed) {}
  std::uint32_t upto(std::uint32_t max) {
    return std::uniform_int_distribution<std::uint32_t>(0, max)(engine_);
  }
  template <typename T, std::size_t N>
  const T& pick(const T (&items)[N]) {
    return items[upto(N - 1)];
  }
  // Lower-case alphanumerics, as in Kubernetes pod name suffixes and trace IDs.
  std::string id(int length) {
    static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::string out(static_cast<std::size_t>(length), 'a');
    for (char& c : out) c = kAlphabet[upto(sizeof kAlphabet - 2)];
    return out;
  }
  std::string hex(int length) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(static_cast<std::size_t>(length), '0');
    for (char& c : out) c = kHex[upto(15)];
    return out;
  }

 private:
  std::mt19937 engine_;
};

constexpr const char* kMetricNames[] = {"container_cpu_usage_seconds_total",
                                        "container_memory_working_set_bytes",
                                        "container_network_receive_bytes_total",
                                        "kube_pod_container_status_restarts_total",
                                        "kube_pod_status_phase",
                                        "node_cpu_seconds_total",
                                        "node_filesystem_avail_bytes",
                                        "http_requests_total",
                                        "http_request_duration_seconds_bucket",
                                        "go_goroutines",
                                        "process_resident_memory_bytes",
                                        "apiserver_request_total"};
constexpr const char* kNamespaces[] = {"kube-system",  "monitoring", "default",     "ingress-nginx",
                                       "cert-manager", "app-orders", "app-payments"};
constexpr const char* kContainers[] = {"app",           "sidecar",    "kube-proxy", "coredns",
                                       "node-exporter", "prometheus", "nginx"};
constexpr const char* kJobs[] = {"kubelet", "node-exporter", "kube-state-metrics", "apiserver",
                                 "app"};

// Labels of one series, sorted by name as Prometheus sends them: __name__ and 9 others.
std::vector<std::pair<std::string, std::string>> series_labels(Random& rnd, int index) {
  const std::string container = rnd.pick(kContainers);
  return {
      {"__name__", rnd.pick(kMetricNames)},
      {"cluster", "xyz7nq2k4v"},
      {"container", container},
      {"endpoint", rnd.upto(1) == 0 ? "https-metrics" : "http"},
      {"instance", "10.244." + std::to_string(rnd.upto(15)) + "." + std::to_string(rnd.upto(254)) +
                       ":" + std::to_string(9100 + rnd.upto(3))},
      {"job", rnd.pick(kJobs)},
      {"namespace", rnd.pick(kNamespaces)},
      {"node", "worker-" + std::to_string(rnd.upto(11))},
      {"pod", container + "-" + rnd.id(10) + "-" + rnd.id(5)},
      {"series", std::to_string(index)},  // keeps every series distinct
  };
}

Body remote_write_v1() {
  Random rnd(kSeed);
  ::prometheus::WriteRequest request;
  for (int i = 0; i < kSeries; ++i) {
    auto* series = request.add_timeseries();
    for (auto& [name, value] : series_labels(rnd, i)) {
      auto* label = series->add_labels();
      label->set_name(name);
      label->set_value(value);
    }
    auto* sample = series->add_samples();
    sample->set_value(rnd.upto(1000000) / 7.0);
    sample->set_timestamp(kStartMs + i / 100);
  }
  const std::string raw = request.SerializeAsString();
  Body body{"rw-v1 2000x1",
            RouteKind::kPrometheusRemoteWrite,
            std::string(kV1Type),
            "snappy",
            codec::snappy_block(raw),
            raw.size(),
            {}};
  body.expected.series = kSeries;
  body.expected.samples = kSeries;
  return body;
}

// The same series as v1, as a 2.0 sender writes them: interned strings and per-series metadata.
Body remote_write_v2() {
  Random rnd(kSeed);
  v2::Request request;
  std::vector<std::string> symbols{""};  // symbols[0] is always ""
  auto intern = [&symbols](const std::string& text) {
    auto it = std::find(symbols.begin(), symbols.end(), text);
    if (it == symbols.end()) it = symbols.insert(symbols.end(), text);
    return static_cast<std::uint32_t>(it - symbols.begin());
  };
  for (int i = 0; i < kSeries; ++i) {
    auto* series = request.add_timeseries();
    for (auto& [name, value] : series_labels(rnd, i)) {
      series->add_labels_refs(intern(name));
      series->add_labels_refs(intern(value));
    }
    auto* sample = series->add_samples();
    sample->set_value(rnd.upto(1000000) / 7.0);
    sample->set_timestamp(kStartMs + i / 100);
    auto* metadata = series->mutable_metadata();
    metadata->set_type(v2::Metadata::METRIC_TYPE_COUNTER);
    metadata->set_help_ref(intern("Help text of the metric."));
  }
  for (const std::string& symbol : symbols) request.add_symbols(symbol);
  const std::string raw = request.SerializeAsString();
  Body body{"rw-v2 2000x1",
            RouteKind::kPrometheusRemoteWrite,
            std::string(kV2Type),
            "snappy",
            codec::snappy_block(raw),
            raw.size(),
            {}};
  body.expected.series = kSeries;
  body.expected.samples = kSeries;
  body.expected.metadata = kSeries;
  return body;
}

struct LogEntry {
  int stream;
  std::int64_t ts_ns;
  std::string line;
};

constexpr int kStreams = 24;

std::string stream_labels(int stream) {
  return "{app=\"" + std::string(kContainers[stream % std::size(kContainers)]) +
         "\", cluster=\"xyz7nq2k4v\", namespace=\"" + kNamespaces[stream % std::size(kNamespaces)] +
         "\", pod=\"pod-" + std::to_string(stream) + "\"}";
}

// Application log lines in the three shapes seen most: logfmt, JSON and an access log.
std::string log_line(Random& rnd, std::int64_t ts_ns) {
  static constexpr const char* kPaths[] = {"/api/v1/orders", "/api/v1/payments/checkout",
                                           "/healthz", "/static/app.js", "/api/v1/users/me"};
  static constexpr const char* kMessages[] = {"request completed", "cache miss",
                                              "retrying upstream call", "slow query"};
  const std::string trace = rnd.hex(16);
  const std::string ms = std::to_string(rnd.upto(2000)) + "." + std::to_string(rnd.upto(999));
  switch (rnd.upto(2)) {
    case 0:
      return "level=info ts=" + std::to_string(ts_ns / 1000000) +
             " caller=handler.go:" + std::to_string(rnd.upto(400)) + " msg=\"" +
             rnd.pick(kMessages) + "\" method=GET path=" + rnd.pick(kPaths) +
             " status=200 duration=" + ms + "ms trace_id=" + trace;
    case 1:
      return "{\"level\":\"warn\",\"ts\":" + std::to_string(ts_ns / 1000000) + ",\"msg\":\"" +
             rnd.pick(kMessages) +
             "\",\"db\":\"orders\",\"rows\":" + std::to_string(rnd.upto(100000)) + ",\"ms\":" + ms +
             ",\"trace_id\":\"" + trace + "\"}";
    default:
      return "10.244." + std::to_string(rnd.upto(15)) + "." + std::to_string(rnd.upto(254)) +
             " - - [25/Nov/2024:14:20:50 +0000] \"GET " + rnd.pick(kPaths) + " HTTP/1.1\" 200 " +
             std::to_string(rnd.upto(60000)) + " \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\"";
  }
}

std::vector<LogEntry> log_entries(std::size_t line_bytes) {
  Random rnd(kSeed);
  std::vector<LogEntry> entries;
  std::size_t total = 0;
  std::int64_t ts_ns = kStartMs * 1000000;
  while (total < line_bytes) {
    ts_ns += 1000 + rnd.upto(1000000);
    entries.push_back({static_cast<int>(rnd.upto(kStreams - 1)), ts_ns, log_line(rnd, ts_ns)});
    total += entries.back().line.size();
  }
  return entries;
}

Counts log_counts(const std::vector<LogEntry>& entries) {
  Counts counts;
  std::vector<bool> seen(kStreams);
  for (const LogEntry& entry : entries) {
    if (!seen[entry.stream]) ++counts.series;
    seen[entry.stream] = true;
    ++counts.log_lines;
    counts.log_bytes += entry.line.size();
  }
  return counts;
}

std::string loki_proto(const std::vector<LogEntry>& entries) {
  logproto::PushRequest request;
  std::vector<logproto::StreamAdapter*> streams(kStreams, nullptr);
  for (const LogEntry& entry : entries) {
    auto*& stream = streams[entry.stream];
    if (stream == nullptr) {
      stream = request.add_streams();
      stream->set_labels(stream_labels(entry.stream));
    }
    auto* out = stream->add_entries();
    out->mutable_timestamp()->set_seconds(entry.ts_ns / 1000000000);
    out->mutable_timestamp()->set_nanos(static_cast<std::int32_t>(entry.ts_ns % 1000000000));
    out->set_line(entry.line);
  }
  return request.SerializeAsString();
}

// Bytes of log lines that make `size_of(line_bytes)` ~= kLokiBodyBytes: a few rounds of rescaling,
// since a body's size is close to proportional to its lines'.
template <typename SizeOf>
std::size_t fit_line_bytes(SizeOf size_of) {
  std::size_t line_bytes = kLokiBodyBytes;
  for (int round = 0; round < 3; ++round) {
    line_bytes = static_cast<std::size_t>(static_cast<double>(line_bytes) * kLokiBodyBytes /
                                          static_cast<double>(size_of(line_bytes)));
  }
  return line_bytes;
}

// Promtail's shape: protobuf, snappy-compressed, no Content-Encoding; ~1 MiB on the wire.
Body loki_proto_body() {
  const std::size_t line_bytes = fit_line_bytes(
      [](std::size_t bytes) { return codec::snappy_block(loki_proto(log_entries(bytes))).size(); });
  const std::vector<LogEntry> entries = log_entries(line_bytes);
  const std::string raw = loki_proto(entries);
  return {"loki-proto 1MiB",        RouteKind::kLokiPush, "application/x-protobuf", "",
          codec::snappy_block(raw), raw.size(),           log_counts(entries)};
}

std::string loki_json(const std::vector<LogEntry>& entries) {
  std::vector<nlohmann::json> values(kStreams, nlohmann::json::array());
  for (const LogEntry& entry : entries) {
    values[entry.stream].push_back({std::to_string(entry.ts_ns), entry.line});
  }
  nlohmann::json streams = nlohmann::json::array();
  for (int s = 0; s < kStreams; ++s) {
    if (values[s].empty()) continue;
    streams.push_back({{"stream",
                        {{"app", kContainers[s % std::size(kContainers)]},
                         {"cluster", "xyz7nq2k4v"},
                         {"namespace", kNamespaces[s % std::size(kNamespaces)]},
                         {"pod", "pod-" + std::to_string(s)}}},
                       {"values", std::move(values[s])}});
  }
  return nlohmann::json{{"streams", std::move(streams)}}.dump();
}

// Shape of JSON clients (e.g. pino-loki): application/json, ~1 MiB of JSON text; and the same
// with Content-Encoding: gzip.
std::vector<Body> loki_json_bodies() {
  const std::size_t line_bytes =
      fit_line_bytes([](std::size_t bytes) { return loki_json(log_entries(bytes)).size(); });
  const std::vector<LogEntry> entries = log_entries(line_bytes);
  const std::string raw = loki_json(entries);
  std::vector<Body> bodies;
  bodies.push_back({"loki-json 1MiB", RouteKind::kLokiPush, "application/json", "", raw, raw.size(),
                    log_counts(entries)});
  bodies.push_back({"loki-json 1MiB gzip", RouteKind::kLokiPush, "application/json", "gzip",
                    codec::gzip(raw), raw.size(), log_counts(entries)});
  return bodies;
}

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
  for (Body& body : loki_json_bodies()) bodies.push_back(std::move(body));
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
