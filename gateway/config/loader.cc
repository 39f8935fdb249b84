// YAML -> Config: keys, types and value syntax. Semantic rules live in validator.cc.
#include "gateway/config/loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/config/limits_loader.h"
#include "gateway/config/validator.h"
#include "gateway/config/yaml_reader.h"

namespace mla::config {
namespace {

// Hostname, IPv4 literal or (inside brackets) IPv6 literal; no validation beyond the charset.
bool is_host(std::string_view host, bool bracketed) {
  if (host.empty()) return false;
  for (char c : host) {
    bool ok = bracketed ? (std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')
                        : (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                           c == '_');
    if (!ok) return false;
  }
  return true;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// "host[:port]" or "[v6]:port". Splits into host (brackets removed) and port text; false if the
// shape is wrong. `port` stays empty when absent.
bool split_host_port(std::string_view text, std::string& host, std::string_view& port) {
  bool bracketed = text.starts_with('[');
  std::string_view rest;
  if (bracketed) {
    auto close = text.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    host = std::string(text.substr(1, close - 1));
    rest = text.substr(close + 1);
  } else {
    auto colon = text.find(':');
    host = std::string(text.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon);
  }
  if (!rest.empty()) {
    if (rest[0] != ':') return false;
    port = rest.substr(1);
    if (port.empty()) return false;
  }
  return host.empty() || is_host(host, bracketed);
}

std::optional<ListenAddress> parse_listen(std::string_view text) {
  ListenAddress out;
  std::string host;
  std::string_view port_text;
  if (!split_host_port(text, host, port_text) || port_text.empty()) return std::nullopt;
  auto port = parse_port(port_text);
  if (!port) return std::nullopt;
  if (!host.empty()) out.host = host;
  out.port = *port;
  return out;
}

// http(s)://host[:port][/base]. No user info, query or fragment.
bool parse_upstream_url(std::string_view url, UpstreamConfig& out) {
  std::string_view rest;
  if (url.starts_with("http://")) {
    out.use_tls = false;
    out.port = 80;
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    out.use_tls = true;
    out.port = 443;
    rest = url.substr(8);
  } else {
    return false;
  }
  for (char c : rest) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '?' || c == '#' || c == '@') {
      return false;
    }
  }
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view base = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  std::string_view port_text;
  if (!split_host_port(authority, out.host, port_text) || out.host.empty()) return false;
  if (!port_text.empty()) {
    auto port = parse_port(port_text);
    if (!port) return false;
    out.port = *port;
  }
  while (base.ends_with('/')) base.remove_suffix(1);
  out.base_path = std::string(base);
  return true;
}

class Loader {
 public:
  explicit Loader(SourceMap& where) : where_(where) {}

  Config load(const YAML::Node& root) {
    Config config;
    where_.add("", location_of(root.Mark()));
    MapReader top(where_, root, "",
                  {"server", "tls", "tenant", "limits", "routes", "upstreams", "admin", "read"});
    if (auto n = top.get("server")) read_server(*n, config.server);
    if (auto n = top.get("tls")) read_tls(*n, config.tls);
    if (auto n = top.get("tenant")) read_tenant(*n, config.tenant);
    if (auto n = top.get("limits")) read_limits(where_, *n, "limits", config.limits);
    if (auto n = top.get("upstreams")) read_upstreams(*n, config.upstreams);
    if (auto n = top.get("routes")) read_routes(*n, "routes", RouteList::kWrite, config.routes);
    if (auto n = top.get("admin")) read_admin(*n, config.admin);
    if (auto n = top.get("read")) read_read_listener(*n, config.read);
    return config;
  }

 private:
  void read_server(const YAML::Node& node, ServerConfig& out) {
    MapReader m(where_, node, "server",
                {"listen", "threads", "max_connections", "max_request_body_bytes",
                 "max_decompressed_bytes", "read_header_timeout", "idle_timeout", "request_timeout",
                 "http2", "http2_max_concurrent_streams", "shutdown_grace_period"});
    if (auto n = m.get("listen")) {
      std::string path = m.child("listen");
      std::string text = m.values().string(*n, path);
      auto listen = parse_listen(text);
      if (!listen) {
        where_.fail(path, "invalid listen address " + quote(text) +
                              " (want host:port, [ipv6]:port or :port)");
      }
      out.listen = *listen;
    }
    m.uint("threads", out.threads);
    m.uint("max_connections", out.max_connections);
    m.size("max_request_body_bytes", out.max_request_body_bytes);
    m.size("max_decompressed_bytes", out.max_decompressed_bytes);
    m.duration("read_header_timeout", out.read_header_timeout);
    m.duration("idle_timeout", out.idle_timeout);
    m.duration("request_timeout", out.request_timeout);
    m.boolean("http2", out.http2);
    m.uint("http2_max_concurrent_streams", out.http2_max_concurrent_streams);
    m.duration("shutdown_grace_period", out.shutdown_grace_period);
  }

  void read_admin(const YAML::Node& node, AdminConfig& out) {
    MapReader m(where_, node, "admin", {"listen", "socket", "state_file", "token_file"});
    m.string("socket", out.socket);
    m.string("state_file", out.state_file);
    m.string("token_file", out.token_file);
    if (m.get("listen")) out.listen = optional_listen(m, "listen");
  }

  // A listener that may be off: "" = nullopt.
  std::optional<ListenAddress> optional_listen(const MapReader& m, std::string_view key) {
    std::string path = m.child(key);
    std::string text = m.values().string(*m.get(key), path);
    if (text.empty()) return std::nullopt;
    auto listen = parse_listen(text);
    if (!listen) {
      where_.fail(path, "invalid listen address " + quote(text) +
                            " (want host:port, [ipv6]:port, :port, or \"\" for none)");
    }
    return listen;
  }

  void read_read_listener(const YAML::Node& node, ReadConfig& out) {
    MapReader m(where_, node, "read", {"listen", "tenant_from", "token_file", "tls", "routes"});
    if (m.get("listen")) out.listen = optional_listen(m, "listen");
    if (auto n = m.get("tenant_from")) {
      out.tenant_from = m.values().choice<ReadTenantFrom>(
          *n, m.child("tenant_from"),
          {{"fixed", ReadTenantFrom::kFixed}, {"header", ReadTenantFrom::kHeader}});
    }
    m.string("token_file", out.token_file);
    if (auto tls = m.get("tls")) {
      MapReader t(where_, *tls, m.child("tls"), {"cert_file", "key_file", "client_ca_file"});
      t.string("cert_file", out.tls.cert_file);
      t.string("key_file", out.tls.key_file);
      t.string("client_ca_file", out.tls.client_ca_file);
    }
    if (auto n = m.get("routes")) {
      read_routes(*n, m.child("routes"), RouteList::kRead, out.routes);
    }
  }

  void read_tls(const YAML::Node& node, TlsConfig& out) {
    MapReader m(
        where_, node, "tls",
        {"cert_file", "key_file", "client_ca_file", "crl_file", "min_version", "reload_interval"});
    m.string("cert_file", out.cert_file);
    m.string("key_file", out.key_file);
    m.string("client_ca_file", out.client_ca_file);
    m.string("crl_file", out.crl_file);
    if (auto n = m.get("min_version")) {
      out.min_version = m.values().choice<TlsVersion>(
          *n, m.child("min_version"),
          {{"TLS1.2", TlsVersion::kTls12}, {"TLS1.3", TlsVersion::kTls13}});
    }
    m.duration("reload_interval", out.reload_interval);
  }

  void read_tenant(const YAML::Node& node, TenantConfig& out) {
    MapReader m(where_, node, "tenant", {"source", "fixed", "pattern", "allowed", "header"});
    if (auto n = m.get("source")) {
      out.source = m.values().choice<TenantSource>(*n, m.child("source"),
                                                   {{"fixed", TenantSource::kFixed},
                                                    {"subject_cn", TenantSource::kSubjectCn},
                                                    {"san_dns", TenantSource::kSanDns},
                                                    {"san_uri", TenantSource::kSanUri},
                                                    {"subject_ou", TenantSource::kSubjectOu}});
    }
    m.string("fixed", out.fixed);
    m.string("pattern", out.pattern);
    m.string_list("allowed", out.allowed);
    m.string("header", out.header);
  }

  // `routes` (the write listener) or `read.routes` (the read listener, passthrough only: no
  // kind other than passthrough, no clients, no scanning).
  enum class RouteList { kWrite, kRead };

  void read_routes(const YAML::Node& node, const std::string& path, RouteList list,
                   std::vector<RouteConfig>& out) {
    const bool write = list == RouteList::kWrite;
    if (node.IsNull()) return;  // the validator reports "no routes" where routes are required
    if (!node.IsSequence()) where_.fail(path, "want a list of routes, got " + describe(node));
    for (std::size_t i = 0; i < node.size(); ++i) {
      YAML::Node item = node[i];
      std::string base = item_path(path, i);
      where_.add(base, location_of(item.Mark()));
      if (!item.IsMap()) where_.fail(base, "want a map, got " + describe(item));
      MapReader m =
          write
              ? MapReader(where_, item, base,
                          {"path", "path_prefix", "kind", "upstream", "rewrite", "clients", "scan"})
              : MapReader(where_, item, base,
                          {"path", "path_prefix", "kind", "upstream", "rewrite"});
      RouteConfig route;
      bool has_path = m.get("path").has_value();
      bool has_prefix = m.get("path_prefix").has_value();
      if (has_path && has_prefix) {
        where_.fail(m.child("path_prefix"), "set either path or path_prefix, not both");
      }
      if (!has_path && !has_prefix) where_.fail(base, "path or path_prefix is required");
      route.is_prefix = has_prefix;
      m.string(has_prefix ? "path_prefix" : "path", route.path);
      if (write) {
        route.kind = write_route_kind(m);
      } else {
        check_read_route_kind(m);
        route.kind = RouteKind::kPassthrough;
        route.scan = false;  // read responses are streamed, request bodies are not inspected
      }
      m.string("upstream", route.upstream);
      m.string("rewrite", route.rewrite);
      m.string_list("clients", route.clients);
      m.boolean("scan", route.scan);
      out.push_back(std::move(route));
    }
  }

  RouteKind write_route_kind(const MapReader& m) {
    auto kind = m.get("kind");
    if (!kind) {
      where_.fail(m.child("kind"), "required (prometheus_remote_write, loki_push or passthrough)");
    }
    return m.values().choice<RouteKind>(
        *kind, m.child("kind"),
        {{"prometheus_remote_write", RouteKind::kPrometheusRemoteWrite},
         {"loki_push", RouteKind::kLokiPush},
         {"passthrough", RouteKind::kPassthrough}});
  }

  // Optional on a read route; the only value is passthrough.
  void check_read_route_kind(const MapReader& m) {
    auto kind = m.get("kind");
    if (!kind) return;
    std::string path = m.child("kind");
    std::string text = m.values().string(*kind, path);
    if (text != "passthrough") {
      where_.fail(path, "invalid value " + quote(text) +
                            ": read routes are passthrough (omit kind or set it to passthrough)");
    }
  }

  void read_upstreams(const YAML::Node& node, std::map<std::string, UpstreamConfig>& out) {
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      where_.fail("upstreams", "want a map of name -> upstream, got " + describe(node));
    }
    for (const auto& entry : node) {
      SourceLocation key_at = location_of(entry.first.Mark());
      if (!entry.first.IsScalar() || entry.first.Scalar().empty()) {
        where_.fail_at(key_at, "upstreams", "upstream names must be non-empty strings");
      }
      std::string name = entry.first.Scalar();
      std::string base = "upstreams." + name;
      if (out.contains(name)) where_.fail_at(key_at, base, "duplicate key");
      const YAML::Node& value = entry.second;
      where_.add(base, value.IsNull() ? key_at : location_of(value.Mark()));
      if (!value.IsMap()) where_.fail(base, "want a map, got " + describe(value));
      MapReader m(where_, value, base,
                  {"url", "timeout", "connect_timeout", "max_idle_connections", "tls"});
      UpstreamConfig upstream;
      upstream.name = name;
      auto url = m.get("url");
      if (!url) where_.fail(m.child("url"), "required (e.g. http://cortex-distributor:8080)");
      upstream.url = m.values().string(*url, m.child("url"));
      if (!parse_upstream_url(upstream.url, upstream)) {
        where_.fail(m.child("url"), "invalid URL " + quote(upstream.url) +
                                        " (want http://host[:port][/path] or https://...)");
      }
      m.duration("timeout", upstream.timeout);
      m.duration("connect_timeout", upstream.connect_timeout);
      m.uint("max_idle_connections", upstream.max_idle_connections);
      if (auto tls = m.get("tls")) {
        MapReader t(where_, *tls, m.child("tls"),
                    {"ca_file", "cert_file", "key_file", "server_name"});
        t.string("ca_file", upstream.tls.ca_file);
        t.string("cert_file", upstream.tls.cert_file);
        t.string("key_file", upstream.tls.key_file);
        t.string("server_name", upstream.tls.server_name);
      }
      out.emplace(name, std::move(upstream));
    }
  }

  SourceMap& where_;
};

// Where the first node of a non-empty document after the first one starts, if there is one.
// Stops at the first empty document (e.g. a trailing "---").
std::optional<YAML::Mark> second_document(const std::string& yaml) {
  // Sees only where a document's first node starts.
  class FirstNode : public YAML::EventHandler {
   public:
    std::optional<YAML::Mark> mark;
    void OnDocumentStart(const YAML::Mark&) override { mark.reset(); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark& at, YAML::anchor_t) override { note(at); }
    void OnScalar(const YAML::Mark& at, const std::string&, YAML::anchor_t,
                  const std::string&) override {
      note(at);
    }
    void OnSequenceStart(const YAML::Mark& at, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
      note(at);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& at, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {
      note(at);
    }
    void OnMapEnd() override {}

   private:
    void note(const YAML::Mark& at) {
      if (!mark) mark = at;
    }
  };
  std::istringstream in(yaml);
  YAML::Parser parser(in);
  FirstNode first_node;
  if (!parser.HandleNextDocument(first_node)) return std::nullopt;  // the first document
  if (!parser.HandleNextDocument(first_node)) return std::nullopt;
  return first_node.mark;  // empty when the second document is
}

// A bearer token (admin.token_file, read.token_file at `key`): the file's content without
// surrounding whitespace (a trailing newline from `echo` or a Kubernetes Secret is not part of
// it). An empty token would accept anything. The validator has checked the file is readable.
std::string read_token(const std::string& path, std::string_view key, const SourceMap& where) {
  if (path.empty()) return "";
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  std::string token = text.str();
  const auto first = token.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) where.fail(key, "token file " + path + " is empty");
  token = token.substr(first, token.find_last_not_of(" \t\r\n") - first + 1);
  return token;
}

}  // namespace

Config load_config_string(const std::string& yaml, const std::string& source_name,
                          bool check_files) {
  SourceMap where(source_name);
  try {
    // Not YAML::LoadAll: in yaml-cpp 0.7 (Debian 12) it never returns on some invalid input
    // (e.g. a lone ",") and allocates without bound (jbeder/yaml-cpp#1040, fixed upstream by
    // #1319). Load the first document, then look for a second one and stop at the first empty
    // one, as #1319 does.
    const YAML::Node root = YAML::Load(yaml);
    if (auto second = second_document(yaml)) {
      where.fail_at(location_of(*second), "", "only one YAML document is supported");
    }
    Config config = Loader(where).load(root);
    config.source_file = source_name;
    validate(config, where, check_files);
    if (check_files) {
      config.admin.token = read_token(config.admin.token_file, "admin.token_file", where);
      // An unused read section's files are not read (see Validator::check_read).
      if (config.read.listen) {
        config.read.token = read_token(config.read.token_file, "read.token_file", where);
      }
    }
    return config;
  } catch (const YAML::Exception& e) {
    // Syntax errors from the parser; the message without yaml-cpp's own position prefix.
    where.fail_at(location_of(e.mark), "", "invalid YAML: " + e.msg);
  }
}

Config load_config_file(const std::string& path, bool check_files) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot read config file: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": cannot read config file: " + std::strerror(errno));
  return load_config_string(text.str(), path, check_files);
}

}  // namespace mla::config
