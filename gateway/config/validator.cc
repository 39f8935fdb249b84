#include "gateway/config/validator.h"

#include <arpa/inet.h>
#include <re2/re2.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gateway/config/loader.h"
#include "gateway/tenant/tenant_mapper.h"

namespace mla::config {

SourceLocation SourceMap::find(std::string_view path) const {
  while (true) {
    if (auto it = locations_.find(path); it != locations_.end()) return it->second;
    if (path.empty()) return SourceLocation{};
    auto cut = path.find_last_of(".[");
    path = cut == std::string_view::npos ? std::string_view() : path.substr(0, cut);
  }
}

void SourceMap::fail(std::string_view path, std::string_view reason) const {
  fail_at(find(path), path, reason);
}

void SourceMap::fail_at(SourceLocation at, std::string_view path, std::string_view reason) const {
  std::string message =
      source_name_ + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": ";
  if (!path.empty()) message.append(path).append(": ");
  message.append(reason);
  throw ConfigError(message);
}

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

namespace {

using tenant::is_valid_tenant_id;

// Describes the rule tenant::is_valid_tenant_id enforces (Cortex/Loki's tenant.ValidTenantID).
constexpr std::string_view kTenantIdRule =
    "want 1-150 characters of a-z A-Z 0-9 ! - _ . * ' ( ), not \".\" or \"..\"";

std::string invalid_tenant_id(const std::string& id) {
  return "invalid tenant ID " + quote(id) + " (" + std::string(kTenantIdRule) + ")";
}

// RFC 9110 token characters, for header names.
bool is_http_token(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// Runs every check; `where_` turns a key path into the message location.
class Validator {
 public:
  Validator(const Config& config, const SourceMap& where, bool check_files)
      : config_(config), where_(where), check_files_(check_files) {}

  void run() {
    check_server();
    check_tls();
    check_tenant();
    check_limits();
    check_upstreams();
    check_routes();
    check_admin();
    check_read();
  }

 private:
  void check_server() {
    const ServerConfig& s = config_.server;
    if (s.max_connections == 0) where_.fail("server.max_connections", "must be greater than 0");
    if (s.max_request_body_bytes == 0) {
      where_.fail("server.max_request_body_bytes", "must be greater than 0");
    }
    if (s.max_decompressed_bytes == 0) {
      where_.fail("server.max_decompressed_bytes", "must be greater than 0");
    }
    positive("server.read_header_timeout", s.read_header_timeout);
    positive("server.idle_timeout", s.idle_timeout);
    positive("server.request_timeout", s.request_timeout);
    positive("server.shutdown_grace_period", s.shutdown_grace_period);
    if (s.http2_max_concurrent_streams == 0) {
      where_.fail("server.http2_max_concurrent_streams", "must be greater than 0");
    }
  }

  void check_tls() {
    const TlsConfig& t = config_.tls;
    required_file("tls.cert_file", t.cert_file);
    required_file("tls.key_file", t.key_file);
    required_file("tls.client_ca_file", t.client_ca_file);
    optional_file("tls.crl_file", t.crl_file);
    positive("tls.reload_interval", t.reload_interval);
  }

  void check_tenant() {
    const TenantConfig& t = config_.tenant;
    if (t.source == TenantSource::kFixed) {
      if (t.fixed.empty()) {
        where_.fail("tenant.fixed", "required when tenant.source is fixed");
      }
      if (!t.pattern.empty()) {
        where_.fail("tenant.pattern", "not used when tenant.source is fixed; remove it");
      }
    }
    if (!t.fixed.empty() && !is_valid_tenant_id(t.fixed)) {
      where_.fail("tenant.fixed", invalid_tenant_id(t.fixed));
    }
    if (!t.pattern.empty()) check_pattern(t.pattern);
    for (std::size_t i = 0; i < t.allowed.size(); ++i) {
      if (!is_valid_tenant_id(t.allowed[i])) {
        where_.fail("tenant.allowed[" + std::to_string(i) + "]", invalid_tenant_id(t.allowed[i]));
      }
    }
    if (t.source == TenantSource::kFixed && !t.allowed.empty() &&
        std::find(t.allowed.begin(), t.allowed.end(), t.fixed) == t.allowed.end()) {
      where_.fail("tenant.fixed", "tenant " + quote(t.fixed) + " is not in tenant.allowed");
    }
    if (!is_http_token(t.header)) {
      where_.fail("tenant.header", "invalid header name " + quote(t.header));
    }
  }

  // Rates and bursts were checked (finite, >= 0) by the loader.
  void check_limits() {
    const ratelimit::LimitsConfig& l = config_.limits;
    if (l.replicas < 1) where_.fail("limits.replicas", "must be at least 1");
    // With both set, limits.replicas applies until a lookup succeeded (replica_count.h).
    if (l.replicas_dns_interval < std::chrono::milliseconds(100)) {
      where_.fail("limits.replicas_dns_interval", "must be at least 100ms");
    }
    if (!l.replicas_dns_server.empty() && l.replicas_from_dns.empty()) {
      where_.fail("limits.replicas_dns_server", "set limits.replicas_from_dns too (or remove it)");
    }
    if (l.limited_status != 429 && l.limited_status != 503) {
      where_.fail("limits.limited_status",
                  "must be 429 or 503, got " + std::to_string(l.limited_status));
    }
    if (l.disabled_status < 400 || l.disabled_status > 599) {
      where_.fail("limits.disabled_status", "must be an HTTP error status (400-599), got " +
                                                std::to_string(l.disabled_status));
    }
    for (const auto& entry : l.overrides) {
      if (!is_valid_tenant_id(entry.first)) {
        where_.fail("limits.overrides." + entry.first, invalid_tenant_id(entry.first));
      }
    }
  }

  void check_pattern(const std::string& pattern) {
    RE2::Options options;
    options.set_log_errors(false);
    RE2 regex(pattern, options);
    if (!regex.ok()) {
      where_.fail("tenant.pattern", "invalid RE2 pattern " + quote(pattern) + ": " + regex.error());
    }
    int groups = regex.NumberOfCapturingGroups();
    if (groups != 1) {
      where_.fail("tenant.pattern", "pattern " + quote(pattern) +
                                        " must have exactly one capture group (the tenant), has " +
                                        std::to_string(groups));
    }
  }

  void check_routes() {
    if (config_.routes.empty()) where_.fail("routes", "at least one route is required");
    check_route_list("routes", config_.routes);
  }

  // `routes` or `read.routes` (`list` is the key path); whether the list may be empty is the
  // caller's rule.
  void check_route_list(const std::string& list, const std::vector<RouteConfig>& routes) {
    std::map<std::pair<std::string, bool>, std::size_t> seen;  // (path, is_prefix) -> index
    for (std::size_t i = 0; i < routes.size(); ++i) {
      const RouteConfig& r = routes[i];
      std::string base = list + "[" + std::to_string(i) + "]";
      std::string path_key = base + (r.is_prefix ? ".path_prefix" : ".path");
      if (!r.path.starts_with('/')) {
        where_.fail(path_key, "must start with '/', got " + quote(r.path));
      }
      auto [it, inserted] = seen.emplace(std::make_pair(r.path, r.is_prefix), i);
      if (!inserted) {
        where_.fail(path_key, quote(r.path) + " is already used by " + list + "[" +
                                  std::to_string(it->second) + "]");
      }
      if (r.upstream.empty()) where_.fail(base + ".upstream", "required");
      if (!config_.upstreams.contains(r.upstream)) {
        where_.fail(base + ".upstream", "unknown upstream " + quote(r.upstream) +
                                            " (defined: " + upstream_names() + ")");
      }
      check_rewrite(base + ".rewrite", r.rewrite);
      for (std::size_t j = 0; j < r.clients.size(); ++j) {
        if (r.clients[j].empty()) {
          where_.fail(base + ".clients[" + std::to_string(j) + "]", "must not be empty");
        }
      }
    }
  }

  // "" = no rewrite. Otherwise it becomes the start of the forwarded request target, so it must be
  // an absolute path that cannot end the path early or break the request line.
  void check_rewrite(const std::string& key, const std::string& rewrite) {
    if (rewrite.empty()) return;
    if (!rewrite.starts_with('/')) {
      where_.fail(key, "must start with '/', got " + quote(rewrite));
    }
    for (char c : rewrite) {
      if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '?' || c == '#') {
        where_.fail(
            key, "invalid path " + quote(rewrite) + " (no spaces, control characters, '?' or '#')");
      }
    }
  }

  void check_admin() {
    const AdminConfig& a = config_.admin;
    optional_file("admin.token_file", a.token_file);
    // sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
    if (a.socket.size() > 107) {
      where_.fail("admin.socket", "path is longer than 107 bytes (a Unix socket limit)");
    }
    if (!a.socket.empty() && a.socket == a.state_file) {
      where_.fail("admin.socket", "must differ from admin.state_file");
    }
    parent_directory("admin.socket", a.socket);
    parent_directory("admin.state_file", a.state_file);
    if (!a.listen) return;
    check_listen_host("admin.listen", *a.listen);
    check_port_free("admin.listen", *a.listen, "server.listen", config_.server.listen);
  }

  // The routes are checked whenever they are written; the rest only matters, and is required,
  // when the listener is on: with `listen` absent or "" the section is kept but unused, and its
  // files are neither checked nor read (the loader skips read.token_file too).
  void check_read() {
    const ReadConfig& r = config_.read;
    check_route_list("read.routes", r.routes);
    const ReadTlsConfig& t = r.tls;
    if (t.cert_file.empty() != t.key_file.empty()) {
      where_.fail(t.cert_file.empty() ? "read.tls.key_file" : "read.tls.cert_file",
                  "cert_file and key_file must be set together (the read listener's certificate)");
    }
    if (!t.client_ca_file.empty() && t.cert_file.empty()) {
      where_.fail("read.tls.client_ca_file",
                  "needs read.tls.cert_file (client certificates are asked for over TLS only)");
    }
    if (!r.listen) return;
    check_listen_host("read.listen", *r.listen);
    check_port_free("read.listen", *r.listen, "server.listen", config_.server.listen);
    if (config_.admin.listen) {
      check_port_free("read.listen", *r.listen, "admin.listen", *config_.admin.listen);
    }
    if (r.routes.empty()) {
      where_.fail("read.routes", "at least one route is required when read.listen is set");
    }
    if (r.tenant_from == ReadTenantFrom::kFixed) check_read_fixed_tenant();
    optional_file("read.token_file", r.token_file);
    optional_file("read.tls.cert_file", t.cert_file);
    optional_file("read.tls.key_file", t.key_file);
    optional_file("read.tls.client_ca_file", t.client_ca_file);
  }

  // tenant_from: fixed sends tenant.fixed with every read request, whatever tenant.source is.
  void check_read_fixed_tenant() {
    const TenantConfig& t = config_.tenant;
    if (t.fixed.empty()) {
      where_.fail("read.tenant_from",
                  "needs tenant.fixed (the tenant of every read request); set it, or use "
                  "tenant_from: header");
    }
    // check_tenant has rejected an invalid tenant.fixed, whatever tenant.source is.
    if (!t.allowed.empty() &&
        std::find(t.allowed.begin(), t.allowed.end(), t.fixed) == t.allowed.end()) {
      where_.fail("read.tenant_from",
                  "tenant.fixed " + quote(t.fixed) + " is not in tenant.allowed");
    }
  }

  // The admin and read listeners are bound by address; no name lookup at start-up.
  void check_listen_host(const std::string& key, const ListenAddress& listen) {
    if (!is_ip_literal(listen.host)) {
      where_.fail(
          key, "host " + quote(listen.host) + " must be an IP address (e.g. 127.0.0.1 or [::1])");
    }
  }

  // Two listeners clash on the same port when their hosts are equal or either is a wildcard.
  void check_port_free(const std::string& key, const ListenAddress& listen,
                       const std::string& other_key, const ListenAddress& other) {
    auto any = [](const std::string& host) { return host == "0.0.0.0" || host == "::"; };
    if (listen.port == other.port &&
        (listen.host == other.host || any(listen.host) || any(other.host))) {
      where_.fail(key, "port " + std::to_string(listen.port) + " is already used by " + other_key);
    }
  }

  static bool is_ip_literal(const std::string& host) {
    unsigned char buf[16];
    return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
           ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
  }

  void check_upstreams() {
    if (config_.upstreams.empty()) where_.fail("upstreams", "at least one upstream is required");
    for (const auto& [name, u] : config_.upstreams) {
      std::string base = "upstreams." + name;
      positive(base + ".timeout", u.timeout);
      positive(base + ".connect_timeout", u.connect_timeout);
      std::string tls = base + ".tls";
      if (!u.use_tls) {
        if (where_.has(tls)) where_.fail(tls, "only allowed with an https:// url");
        continue;
      }
      if (u.tls.cert_file.empty() != u.tls.key_file.empty()) {
        bool has_cert = !u.tls.cert_file.empty();
        where_.fail(tls + (has_cert ? ".cert_file" : ".key_file"),
                    "cert_file and key_file must be set together (client certificate)");
      }
      optional_file(tls + ".ca_file", u.tls.ca_file);
      optional_file(tls + ".cert_file", u.tls.cert_file);
      optional_file(tls + ".key_file", u.tls.key_file);
    }
  }

  std::string upstream_names() const {
    std::string names;
    for (const auto& entry : config_.upstreams) {
      if (!names.empty()) names += ", ";
      names += entry.first;
    }
    return names.empty() ? "none" : names;
  }

  void positive(const std::string& key, Duration value) {
    if (value <= Duration::zero()) where_.fail(key, "must be greater than 0");
  }

  void required_file(const std::string& key, const std::string& path) {
    if (path.empty()) where_.fail(key, "required");
    optional_file(key, path);
  }

  // Files the gateway creates: their directory must exist.
  void parent_directory(const std::string& key, const std::string& path) {
    if (!check_files_ || path.empty()) return;
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (parent.empty()) return;  // the working directory
    std::error_code ec;
    if (!std::filesystem::is_directory(parent, ec)) {
      where_.fail(key, "directory " + quote(parent.string()) + " does not exist");
    }
  }

  void optional_file(const std::string& key, const std::string& path) {
    if (!check_files_ || path.empty()) return;
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      where_.fail(key, "cannot read " + quote(path) + ": is a directory");
    }
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      int err = errno;
      where_.fail(key, "cannot read " + quote(path) + ": " +
                           (err != 0 ? std::strerror(err) : "open failed"));
    }
  }

  const Config& config_;
  const SourceMap& where_;
  bool check_files_;
};

}  // namespace

void validate(const Config& config, const SourceMap& where, bool check_files) {
  Validator(config, where, check_files).run();
}

}  // namespace mla::config
