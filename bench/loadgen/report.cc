#include "bench/loadgen/report.h"

#include <cstdio>
#include <string>

namespace mla::bench {
namespace {

double per_second(double count, double seconds) { return seconds > 0 ? count / seconds : 0.0; }

}  // namespace

nlohmann::json report_json(const Options& options, const Body& body, const RunResult& result,
                           double wall_seconds) {
  const Stats& stats = result.stats;
  const double seconds = result.measured_seconds;
  const auto requests = static_cast<double>(stats.requests);
  // Samples and lines are ingested only by a 2xx answer.
  const std::uint64_t samples = stats.ok * body.expected.samples;
  const std::uint64_t lines = stats.ok * body.expected.log_lines;
  nlohmann::json responses = nlohmann::json::object();
  for (std::size_t status = 0; status < stats.responses.size(); ++status) {
    if (stats.responses[status] > 0) responses[std::to_string(status)] = stats.responses[status];
  }
  nlohmann::json first_errors = nlohmann::json::object();
  const char* kinds[] = {"", "connect", "tls", "io"};
  for (std::size_t i = 1; i < stats.first_error.size(); ++i) {
    if (!stats.first_error[i].empty()) first_errors[kinds[i]] = stats.first_error[i];
  }
  const LatencyHistogram& latency = stats.latency;
  return {
      {"target", options.target},
      {"path", options.path},
      {"mode", mode_name(options.mode)},
      {"protocol", options.http2 ? "h2" : "http/1.1"},
      {"streams", options.streams},
      {"payload", payload_name(options.payload)},
      {"body_bytes", body.bytes.size()},
      {"raw_bytes", body.raw_bytes},
      {"samples_per_request", body.expected.samples},
      {"lines_per_request", body.expected.log_lines},
      {"connections", options.connections},
      {"inflight", options.inflight},
      {"threads", options.threads},
      {"tenants", options.tenants},
      {"rate", options.rate},
      {"warmup_s", std::chrono::duration<double>(options.warmup).count()},
      {"duration_s", seconds},
      {"requests", stats.requests},
      {"ok", stats.ok},
      {"samples", samples},
      {"lines", lines},
      {"responses", responses},
      {"errors",
       {{"connect", stats.connect_errors},
        {"tls", stats.tls_errors},
        {"io", stats.io_errors},
        {"reconnects", stats.reconnects}}},
      {"refused_requests", stats.refused},
      {"first_errors", first_errors},
      {"requests_per_second", per_second(requests, seconds)},
      {"samples_per_second", per_second(static_cast<double>(samples), seconds)},
      {"lines_per_second", per_second(static_cast<double>(lines), seconds)},
      {"mb_per_second",
       per_second(requests * static_cast<double>(body.bytes.size()) / 1e6, seconds)},
      {"latency_us",
       {{"count", latency.count()},
        {"mean", latency.mean()},
        {"p50", latency.percentile(50)},
        {"p90", latency.percentile(90)},
        {"p99", latency.percentile(99)},
        {"p999", latency.percentile(99.9)},
        {"max", latency.max()}}},
      {"handshakes_per_second",
       options.mode == Mode::kHandshake ? per_second(requests, seconds) : 0.0},
      {"idle_established", options.mode == Mode::kIdle ? result.established : 0},
      {"connections_established", stats.established},
      {"interrupted", result.interrupted},
      {"loadgen_cpu_seconds", result.cpu_seconds},
      {"wall_seconds", wall_seconds},
  };
}

void print_summary(std::ostream& out, const nlohmann::json& r) {
  char line[512];
  std::snprintf(line, sizeof(line),
                "mla-loadgen: %s mode, %s, %s body %llu B -> %s%s, %d connections x %d "
                "stream(s), %d in flight, %d thread(s)\n",
                r["mode"].get<std::string>().c_str(), r["protocol"].get<std::string>().c_str(),
                r["payload"].get<std::string>().c_str(), r["body_bytes"].get<unsigned long long>(),
                r["target"].get<std::string>().c_str(), r["path"].get<std::string>().c_str(),
                r["connections"].get<int>(), r["streams"].get<int>(), r["inflight"].get<int>(),
                r["threads"].get<int>());
  out << line;
  if (r["mode"] == "idle") {
    std::snprintf(line, sizeof(line), "  %llu connections established, held %.2f s\n",
                  r["idle_established"].get<unsigned long long>(), r["duration_s"].get<double>());
    out << line;
  } else {
    std::snprintf(line, sizeof(line),
                  "  %.2f s measured: %llu requests (%llu 2xx), %.1f req/s, %.0f samples/s, "
                  "%.0f lines/s, %.1f MB/s\n",
                  r["duration_s"].get<double>(), r["requests"].get<unsigned long long>(),
                  r["ok"].get<unsigned long long>(), r["requests_per_second"].get<double>(),
                  r["samples_per_second"].get<double>(), r["lines_per_second"].get<double>(),
                  r["mb_per_second"].get<double>());
    out << line;
    const auto& l = r["latency_us"];
    std::snprintf(line, sizeof(line),
                  "  latency us: mean %.0f  p50 %llu  p90 %llu  p99 %llu  p99.9 %llu  max %llu\n",
                  l["mean"].get<double>(), l["p50"].get<unsigned long long>(),
                  l["p90"].get<unsigned long long>(), l["p99"].get<unsigned long long>(),
                  l["p999"].get<unsigned long long>(), l["max"].get<unsigned long long>());
    out << line;
    if (r["mode"] == "handshake") {
      std::snprintf(line, sizeof(line), "  %.1f handshakes/s\n",
                    r["handshakes_per_second"].get<double>());
      out << line;
    }
  }
  out << "  responses:";
  for (const auto& [status, n] : r["responses"].items()) out << " " << status << "=" << n;
  const auto& e = r["errors"];
  out << "\n  errors: connect " << e["connect"] << ", tls " << e["tls"] << ", io " << e["io"]
      << "; reconnects " << e["reconnects"] << "\n";
  if (r["refused_requests"] != 0) {
    out << "  refused by the server unprocessed (HTTP/2): " << r["refused_requests"] << "\n";
  }
  for (const auto& [kind, message] : r["first_errors"].items()) {
    out << "  first " << kind << " error: " << message.get<std::string>() << "\n";
  }
  std::snprintf(line, sizeof(line), "  loadgen cpu %.2f s in the measured window; wall %.2f s%s\n",
                r["loadgen_cpu_seconds"].get<double>(), r["wall_seconds"].get<double>(),
                r["interrupted"].get<bool>() ? " (interrupted)" : "");
  out << line;
}

}  // namespace mla::bench
