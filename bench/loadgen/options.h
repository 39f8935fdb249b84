// mla-loadgen command line (bench/loadgen/README.md): parsed and validated into Options before
// anything is opened. Usage errors exit 2.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mla::bench {

enum class Mode { kClosed, kOpen, kHandshake, kIdle };
enum class PayloadKind { kRw1, kRw2, kLokiProto, kLokiJson };

std::string_view mode_name(Mode mode);
std::string_view payload_name(PayloadKind payload);

struct Options {
  std::string target;  // HOST:PORT as given (also the Host header)
  boost::asio::ip::address address;
  std::uint16_t port = 0;
  std::string server_name;  // SNI and the name the server certificate must carry; "" = its IP
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
  std::string path;  // default: /api/v1/push, or /loki/api/v1/push for Loki payloads
  PayloadKind payload = PayloadKind::kRw1;
  int series = 2000;
  std::size_t loki_bytes = std::size_t{1} << 20;
  Mode mode = Mode::kClosed;
  int connections = 64;
  int inflight = 64;  // closed mode; = connections × streams unless given
  double rate = 0;    // open mode, requests per second
  // The run ends at whichever bound comes first; zero means "no bound of this kind". Without
  // --requests the duration defaults to 10 s; with --requests alone, only the count bounds it.
  std::chrono::milliseconds duration{10'000};
  std::uint64_t requests = 0;
  std::chrono::milliseconds warmup{1'000};
  std::chrono::milliseconds hold{30'000};  // idle mode
  int tenants = 0;                         // 0: every connection presents --cert/--key
  std::string tenant_ca_cert;
  std::string tenant_ca_key;
  int threads = 1;
  // --http2: ALPN h2 and HTTP/2 streams instead of HTTP/1.1. `streams`: concurrent streams per
  // connection (closed/open mode; 1 without --http2).
  bool http2 = false;
  int streams = 1;
  std::string json_out;
  bool quiet = false;
  bool plain = false;
};

// Splits "127.0.0.1:8443" / "[::1]:8443" and accepts only numeric loopback addresses
// (127.0.0.0/8, ::1): a load generator must not be pointed at someone else's server by mistake.
// Returns an error message, or std::nullopt on success.
std::optional<std::string> parse_loopback_target(std::string_view text,
                                                 boost::asio::ip::address& address,
                                                 std::uint16_t& port);

// Parses argv into `out`. Returns an exit code when the program should stop now: 0 after --help,
// 2 on a usage error (message already printed on stderr).
std::optional<int> parse_options(int argc, char** argv, Options& out);

}  // namespace mla::bench
