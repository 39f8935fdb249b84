// Typed, immutable configuration (DESIGN.md §3). Built once by the loader; a reload builds a new
// Config and swaps a shared_ptr<const Config>, so readers never see a half-updated snapshot.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gateway/ratelimit/limits_config.h"

namespace mla::config {

using Duration = std::chrono::milliseconds;

inline constexpr std::uint64_t kKiB = 1024;
inline constexpr std::uint64_t kMiB = 1024 * kKiB;

// host:port split of a listen address; host may be an IPv6 literal without brackets.
struct ListenAddress {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8443;
};

struct ServerConfig {
  ListenAddress listen;
  unsigned threads = 0;  // 0 = one per core
  std::uint64_t max_connections = 10000;
  std::uint64_t max_request_body_bytes = 16 * kMiB;
  // Bound on each decompression step of a scanned body (Content-Encoding, then the format's own
  // snappy layer); 413 beyond it. Bytes, > 0.
  std::uint64_t max_decompressed_bytes = 64 * kMiB;
  Duration read_header_timeout = std::chrono::seconds(10);
  Duration idle_timeout = std::chrono::seconds(120);
  Duration request_timeout = std::chrono::seconds(60);
  bool http2 = false;  // ALPN offers h2 besides http/1.1 on the write listener
  std::uint32_t http2_max_concurrent_streams = 100;  // SETTINGS_MAX_CONCURRENT_STREAMS
  Duration shutdown_grace_period = std::chrono::seconds(30);
};

enum class TlsVersion { kTls12, kTls13 };

struct TlsConfig {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  std::string crl_file;  // empty = no CRL
  TlsVersion min_version = TlsVersion::kTls12;
  Duration reload_interval = std::chrono::minutes(1);
};

enum class TenantSource { kFixed, kSubjectCn, kSanDns, kSanUri, kSubjectOu };

struct TenantConfig {
  TenantSource source = TenantSource::kSubjectCn;
  std::string fixed;                 // tenant when source is kFixed
  std::string pattern;               // RE2 with exactly one capture group; empty = whole value
  std::vector<std::string> allowed;  // empty = any valid tenant ID
  std::string header = "X-Scope-OrgID";
};

enum class RouteKind { kPrometheusRemoteWrite, kLokiPush, kPassthrough };

struct RouteConfig {
  std::string path;  // exact path, or prefix when is_prefix
  bool is_prefix = false;
  RouteKind kind = RouteKind::kPassthrough;
  std::string upstream;              // key into Config::upstreams (validated)
  std::vector<std::string> clients;  // empty = any client; else cert CN or SAN DNS must match
  // false = forward the body without inspection: no decompression, validation or counting.
  bool scan = true;
  // "" = forward the path as is; else it replaces the matched path (exact route) or the matched
  // prefix (prefix route); the query string is kept.
  std::string rewrite;
};

struct UpstreamTlsConfig {
  std::string ca_file;  // empty = system default trust store
  std::string cert_file;
  std::string key_file;
  std::string server_name;  // empty = host from url
};

struct UpstreamConfig {
  std::string name;
  std::string url;  // as written
  // Parsed from url (validated): scheme http|https, host, port (default 80/443), base path ("" or
  // "/prefix" without trailing slash) prepended to forwarded request targets.
  bool use_tls = false;
  std::string host;
  std::uint16_t port = 80;
  std::string base_path;
  Duration timeout = std::chrono::seconds(30);
  Duration connect_timeout = std::chrono::seconds(5);
  std::uint64_t max_idle_connections = 64;  // per worker thread
  UpstreamTlsConfig tls;
};

// DESIGN.md §3 `admin`: the admin listener, the control socket (same handlers), where the
// kill-switch state persists, and the bearer token for mutating calls on the listener.
struct AdminConfig {
  // /metrics, /-/healthy, /-/ready, the tenant API; nullopt (`listen: ""`) = no admin listener.
  std::optional<ListenAddress> listen = ListenAddress{"127.0.0.1", 9091};
  std::string socket;      // Unix control socket path; "" = none
  std::string state_file;  // disabled tenants, JSON; "" = kept in memory only
  std::string token_file;  // "" = no token
  std::string token;  // token_file's content without surrounding whitespace (the loader reads it)
};

// DESIGN.md §3 `read`: the optional second listener through which Grafana in the seed reads
// (queries, rules, alerts, logs). Plain HTTP unless tls.cert_file is set; every route is a
// passthrough whose response is streamed.
enum class ReadTenantFrom {
  kFixed,   // tenant.fixed for every request
  kHeader,  // the caller's tenant header, checked against the tenant-ID rules and tenant.allowed
};

struct ReadTlsConfig {
  std::string cert_file;       // "" = plain HTTP
  std::string key_file;        // required with cert_file
  std::string client_ca_file;  // "" = no client certificate asked for
};

struct ReadConfig {
  std::optional<ListenAddress> listen;  // nullopt (absent or "") = no read listener
  ReadTenantFrom tenant_from = ReadTenantFrom::kFixed;
  std::string token_file;  // "" = no token
  std::string token;       // token_file's content without surrounding whitespace (the loader)
  ReadTlsConfig tls;
  std::vector<RouteConfig> routes;  // kind passthrough, scan false; `rewrite` allowed
};

struct Config {
  std::string source_file;
  ServerConfig server;
  TlsConfig tls;
  TenantConfig tenant;
  ratelimit::LimitsConfig limits;  // absent section = the defaults in limits_config.h
  std::vector<RouteConfig> routes;
  std::map<std::string, UpstreamConfig> upstreams;
  AdminConfig admin;
  ReadConfig read;
};

}  // namespace mla::config
