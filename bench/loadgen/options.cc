#include "bench/loadgen/options.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <iostream>
#include <map>

#include "gateway/common/units.h"

namespace mla::bench {

std::string_view mode_name(Mode mode) {
  switch (mode) {
    case Mode::kClosed: return "closed";
    case Mode::kOpen: return "open";
    case Mode::kHandshake: return "handshake";
    case Mode::kIdle: return "idle";
  }
  return "?";
}

std::string_view payload_name(PayloadKind payload) {
  switch (payload) {
    case PayloadKind::kRw1: return "rw1";
    case PayloadKind::kRw2: return "rw2";
    case PayloadKind::kLokiProto: return "loki-proto";
    case PayloadKind::kLokiJson: return "loki-json";
  }
  return "?";
}

std::optional<std::string> parse_loopback_target(std::string_view text,
                                                 boost::asio::ip::address& address,
                                                 std::uint16_t& port) {
  std::string_view host;
  std::string_view port_text;
  if (text.starts_with('[')) {
    const auto close = text.find("]:");
    if (close == std::string_view::npos) return "want [IPv6]:PORT";
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return "want HOST:PORT";
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return "write IPv6 addresses as [::1]:PORT";
  }
  unsigned value = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
      value > 65535) {
    return "bad port '" + std::string(port_text) + "'";
  }
  boost::system::error_code parse_error;
  const auto parsed = boost::asio::ip::make_address(std::string(host), parse_error);
  if (parse_error) return "'" + std::string(host) + "' is not a numeric IP address";
  if (!parsed.is_loopback()) {
    return std::string(host) + " is not a loopback address (only 127.0.0.0/8 and ::1 are allowed)";
  }
  address = parsed;
  port = static_cast<std::uint16_t>(value);
  return std::nullopt;
}

namespace {

// Reads a duration option given as text ("10s", "500ms"); false (message printed) if malformed.
bool take_duration(const std::string& name, const std::string& text,
                   std::chrono::milliseconds& out) {
  const auto parsed = common::parse_duration(text);
  if (!parsed) {
    std::cerr << "mla-loadgen: " << name << ": bad duration '" << text
              << "' (want e.g. 10s, 500ms, 1m)\n";
    return false;
  }
  out = *parsed;
  return true;
}

int usage_error(const std::string& message) {
  std::cerr << "mla-loadgen: " << message << " (see --help)\n";
  return 2;
}

}  // namespace

std::optional<int> parse_options(int argc, char** argv, Options& out) {
  CLI::App app{
      "mla-loadgen: mTLS HTTP/1.1 and HTTP/2 load generator for remote-write and Loki push "
      "(bench/loadgen/README.md)"};
  std::string duration_text = "10s";
  std::string warmup_text = "1s";
  std::string hold_text = "30s";
  std::string loki_bytes_text = "1MiB";
  const std::map<std::string, Mode> modes{{"closed", Mode::kClosed},
                                          {"open", Mode::kOpen},
                                          {"handshake", Mode::kHandshake},
                                          {"idle", Mode::kIdle}};
  const std::map<std::string, PayloadKind> payloads{{"rw1", PayloadKind::kRw1},
                                                    {"rw2", PayloadKind::kRw2},
                                                    {"loki-proto", PayloadKind::kLokiProto},
                                                    {"loki-json", PayloadKind::kLokiJson}};
  app.add_option("--target", out.target, "HOST:PORT, numeric loopback only")->required();
  app.add_option("--server-name", out.server_name,
                 "SNI and expected server certificate name (default: verify the target's IP)");
  app.add_option("--cert", out.cert_file, "Client certificate (PEM)");
  app.add_option("--key", out.key_file, "Client key (PEM)");
  app.add_option("--ca", out.ca_file, "CA that signed the server certificate (PEM)");
  app.add_option("--path", out.path,
                 "Request path (default /api/v1/push; /loki/api/v1/push for Loki payloads)");
  std::string payload_text = "rw1";
  app.add_option("--payload", payload_text, "Request body")
      ->check(CLI::IsMember({"rw1", "rw2", "loki-proto", "loki-json"}))
      ->default_val("rw1");
  app.add_option("--series", out.series, "Remote-write series per request (1 sample each)")
      ->check(CLI::Range(1, 10'000'000))
      ->default_val(2000);
  app.add_option("--loki-bytes", loki_bytes_text, "Approximate Loki request body size")
      ->default_val("1MiB");
  std::string mode_text = "closed";
  app.add_option("--mode", mode_text, "Load pattern")
      ->check(CLI::IsMember({"closed", "open", "handshake", "idle"}))
      ->default_val("closed");
  app.add_option("--connections", out.connections,
                 "closed/open/idle: connections opened; handshake: concurrent workers")
      ->check(CLI::Range(1, 1'000'000))
      ->default_val(64);
  auto* inflight = app.add_option("--inflight", out.inflight,
                                  "closed: requests in flight (default = --connections × "
                                  "--streams); fewer take the connections round-robin")
                       ->check(CLI::Range(1, 1'000'000));
  app.add_option("--rate", out.rate, "open: requests per second, at fixed intended times")
      ->check(CLI::Range(0.001, 1e9));
  auto* duration = app.add_option("--duration", duration_text, "Measured time (after warmup)")
                       ->default_val("10s");
  app.add_option("--requests", out.requests, "Stop after this many counted requests")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup_text, "Requests completed in this first period are not counted")
      ->default_val("1s");
  app.add_option("--hold", hold_text, "idle: how long to hold the established connections")
      ->default_val("30s");
  auto* tenants = app.add_option("--tenants", out.tenants,
                                 "Mint this many client certificates (CN=tenant-00001..)")
                      ->check(CLI::Range(1, 10'000'000));
  app.add_option("--tenant-ca-cert", out.tenant_ca_cert, "CA certificate signing --tenants certs");
  app.add_option("--tenant-ca-key", out.tenant_ca_key, "Key of --tenant-ca-cert");
  app.add_flag("--http2", out.http2,
               "HTTP/2: offer ALPN h2 only (fail if the server does not select it), one stream "
               "per request");
  auto* streams = app.add_option("--streams", out.streams,
                                 "--http2, closed/open: concurrent streams per connection")
                      ->check(CLI::Range(1, 1000))
                      ->default_val(1);
  app.add_option("--threads", out.threads, "I/O threads")
      ->check(CLI::Range(1, 1024))
      ->default_val(1);
  app.add_option("--json-out", out.json_out, "Write the results as a JSON object to this file");
  app.add_flag("--quiet", out.quiet, "No human-readable summary");
  app.add_flag("--plain", out.plain, "Plain HTTP instead of mTLS (to check a sink directly)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help or the error
    return code == 0 ? 0 : 2;
  }

  out.mode = modes.at(mode_text);
  out.payload = payloads.at(payload_text);
  if (auto error = parse_loopback_target(out.target, out.address, out.port)) {
    return usage_error("--target " + out.target + ": " + *error);
  }
  if (!take_duration("--duration", duration_text, out.duration) ||
      !take_duration("--warmup", warmup_text, out.warmup) ||
      !take_duration("--hold", hold_text, out.hold)) {
    return 2;
  }
  const auto loki_bytes = common::parse_size(loki_bytes_text);
  if (!loki_bytes || *loki_bytes < 1024 || *loki_bytes > (std::uint64_t{1} << 30)) {
    return usage_error("--loki-bytes: want a size from 1KiB to 1GiB, e.g. 1MiB");
  }
  out.loki_bytes = static_cast<std::size_t>(*loki_bytes);
  if (out.path.empty()) {
    const bool loki =
        out.payload == PayloadKind::kLokiProto || out.payload == PayloadKind::kLokiJson;
    out.path = loki ? "/loki/api/v1/push" : "/api/v1/push";
  }
  if (!out.path.starts_with('/')) return usage_error("--path must start with '/'");
  // With --requests alone, the count bounds the run (the 10 s default applies only without it).
  if (duration->count() == 0 && out.requests > 0) out.duration = std::chrono::milliseconds(0);
  if (out.duration.count() == 0 && out.requests == 0 && out.mode != Mode::kIdle) {
    return usage_error("nothing bounds the run: give --duration or --requests");
  }
  if (streams->count() > 0 && !out.http2) return usage_error("--streams needs --http2");
  if (out.http2 && out.plain) {
    return usage_error("--http2 needs TLS (h2 is negotiated by ALPN; h2c is not supported)");
  }
  if (out.streams > 1 && (out.mode == Mode::kHandshake || out.mode == Mode::kIdle)) {
    return usage_error(
        "--streams applies to closed and open mode (handshake: one request per "
        "connection; idle: none)");
  }
  const long long slots = static_cast<long long>(out.connections) * out.streams;
  if (slots > 10'000'000) return usage_error("--connections × --streams over 10,000,000");
  if (inflight->count() == 0) out.inflight = static_cast<int>(slots);
  if (out.inflight > slots) {
    return usage_error("--inflight " + std::to_string(out.inflight) +
                       " exceeds --connections × --streams (" + std::to_string(slots) + ")");
  }
  if (out.mode == Mode::kOpen && out.rate <= 0) return usage_error("--mode open needs --rate");
  if (out.mode != Mode::kOpen) out.rate = 0;
  if (out.mode != Mode::kClosed) out.inflight = static_cast<int>(slots);
  if (tenants->count() > 0 && (out.tenant_ca_cert.empty() || out.tenant_ca_key.empty())) {
    return usage_error("--tenants needs --tenant-ca-cert and --tenant-ca-key");
  }
  if (out.plain && out.tenants > 0) return usage_error("--tenants has no meaning with --plain");
  if (!out.plain) {
    if (out.ca_file.empty()) return usage_error("--ca is required (or --plain)");
    if (out.tenants == 0 && (out.cert_file.empty() || out.key_file.empty())) {
      return usage_error("--cert and --key are required (or --tenants, or --plain)");
    }
  }
  // More threads than connections would leave threads without work.
  out.threads = std::min(out.threads, out.connections);
  return std::nullopt;
}

}  // namespace mla::bench
