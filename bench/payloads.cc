// Realistic push bodies for benchmarks (mla-scanner-bench, mla-loadgen, mla-physical-limit):
// Prometheus remote-write 1.0/2.0 batches of Kubernetes-shaped series and Loki pushes of
// application log lines, built with the generated protobuf classes from a fixed seed, so every
// run of every tool measures the same bytes.
#include "bench/payloads.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>
#include <utility>
#include <vector>

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

constexpr std::int64_t kStartMs = 1732543250000;  // first sample timestamp (ms since epoch)
constexpr std::string_view kV1Type = "application/x-protobuf";
constexpr std::string_view kV2Type = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

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

Body remote_write_v1_impl(int series_count, std::uint32_t seed) {
  Random rnd(seed);
  ::prometheus::WriteRequest request;
  for (int i = 0; i < series_count; ++i) {
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
  Body body{"rw-v1 " + std::to_string(series_count) + "x1",
            RouteKind::kPrometheusRemoteWrite,
            std::string(kV1Type),
            "snappy",
            codec::snappy_block(raw),
            raw.size(),
            {}};
  body.expected.series = static_cast<std::uint64_t>(series_count);
  body.expected.samples = static_cast<std::uint64_t>(series_count);
  return body;
}

// The same series as v1, as a 2.0 sender writes them: interned strings and per-series metadata.
Body remote_write_v2_impl(int series_count, std::uint32_t seed) {
  Random rnd(seed);
  v2::Request request;
  std::vector<std::string> symbols{""};  // symbols[0] is always ""
  auto intern = [&symbols](const std::string& text) {
    auto it = std::find(symbols.begin(), symbols.end(), text);
    if (it == symbols.end()) it = symbols.insert(symbols.end(), text);
    return static_cast<std::uint32_t>(it - symbols.begin());
  };
  for (int i = 0; i < series_count; ++i) {
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
  Body body{"rw-v2 " + std::to_string(series_count) + "x1",
            RouteKind::kPrometheusRemoteWrite,
            std::string(kV2Type),
            "snappy",
            codec::snappy_block(raw),
            raw.size(),
            {}};
  body.expected.series = static_cast<std::uint64_t>(series_count);
  body.expected.samples = static_cast<std::uint64_t>(series_count);
  body.expected.metadata = static_cast<std::uint64_t>(series_count);
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

std::vector<LogEntry> log_entries(std::size_t line_bytes, std::uint32_t seed) {
  Random rnd(seed);
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

// Bytes of log lines that make `size_of(line_bytes)` ~= `wire_bytes`: a few rounds of rescaling,
// since a body's size is close to proportional to its lines'.
template <typename SizeOf>
std::size_t fit_line_bytes(std::size_t wire_bytes, SizeOf size_of) {
  std::size_t line_bytes = wire_bytes;
  for (int round = 0; round < 3; ++round) {
    line_bytes =
        static_cast<std::size_t>(static_cast<double>(line_bytes) * static_cast<double>(wire_bytes) /
                                 static_cast<double>(size_of(line_bytes)));
  }
  return line_bytes;
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

std::string size_name(std::size_t bytes) {
  if (bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + "MiB";
  if (bytes % (1u << 10) == 0) return std::to_string(bytes >> 10) + "KiB";
  return std::to_string(bytes) + "B";
}

}  // namespace

Body remote_write_v1(int series, std::uint32_t seed) { return remote_write_v1_impl(series, seed); }

Body remote_write_v2(int series, std::uint32_t seed) { return remote_write_v2_impl(series, seed); }

// Promtail's shape: protobuf, snappy-compressed, no Content-Encoding.
Body loki_proto_body(std::size_t wire_bytes, std::uint32_t seed) {
  const std::size_t line_bytes = fit_line_bytes(wire_bytes, [seed](std::size_t bytes) {
    return codec::snappy_block(loki_proto(log_entries(bytes, seed))).size();
  });
  const std::vector<LogEntry> entries = log_entries(line_bytes, seed);
  const std::string raw = loki_proto(entries);
  return {"loki-proto " + size_name(wire_bytes),
          RouteKind::kLokiPush,
          "application/x-protobuf",
          "",
          codec::snappy_block(raw),
          raw.size(),
          log_counts(entries)};
}

// Shape of JSON clients (e.g. pino-loki): application/json, uncompressed or with
// Content-Encoding: gzip (then `wire_bytes` is the size of the JSON text before gzip).
Body loki_json_body(std::size_t wire_bytes, bool gzip, std::uint32_t seed) {
  const std::size_t line_bytes = fit_line_bytes(
      wire_bytes, [seed](std::size_t bytes) { return loki_json(log_entries(bytes, seed)).size(); });
  const std::vector<LogEntry> entries = log_entries(line_bytes, seed);
  std::string raw = loki_json(entries);
  const std::size_t raw_size = raw.size();
  Body body{"loki-json " + size_name(wire_bytes) + (gzip ? " gzip" : ""),
            RouteKind::kLokiPush,
            "application/json",
            gzip ? "gzip" : "",
            gzip ? codec::gzip(raw) : std::move(raw),
            raw_size,
            log_counts(entries)};
  return body;
}

}  // namespace mla::bench
