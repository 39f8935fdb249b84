// YAML -> Config: keys, types and value syntax. Semantic rules live in validator.cc.
#include "gateway/config/loader.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "gateway/common/units.h"
#include "gateway/config/validator.h"

namespace mla::config {
namespace {

using Keys = std::initializer_list<std::string_view>;

constexpr std::string_view kDurationHint = "(want e.g. 30s, 5m, 1h30m)";
constexpr std::string_view kSizeHint = "(want e.g. 1024, 512KiB, 16MiB, 4MB)";

SourceLocation location_of(const YAML::Mark& mark) {
  if (mark.is_null()) return SourceLocation{};
  return SourceLocation{mark.line + 1, mark.column + 1};
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "scalar " + quote(node.Scalar());
    default:
      return "an empty value";
  }
}

std::string list_keys(Keys keys) {
  std::string out;
  for (std::string_view key : keys) {
    if (!out.empty()) out += ", ";
    out += key;
  }
  return out;
}

std::string item_path(std::string_view parent, std::size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

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
    if (close == std::string_view::npos) return false;
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
  if (text.starts_with("[]")) return std::nullopt;
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
  if (rest.find_first_of("?#@ ") != std::string_view::npos) return false;
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

// Scalar conversions: each fails at `path` (whose location the caller has recorded).
class Values {
 public:
  explicit Values(const SourceMap& where) : where_(where) {}

  std::string string(const YAML::Node& node, const std::string& path) const {
    if (node.IsNull()) return "";
    if (!node.IsScalar()) where_.fail(path, "want a string, got " + describe(node));
    return node.Scalar();
  }

  std::uint64_t uint(const YAML::Node& node, const std::string& path,
                     std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) const {
    std::string text = scalar(node, path, "an unsigned integer");
    std::uint64_t value = 0;
    bool ok = !text.empty();
    for (char c : text) {
      auto digit = static_cast<std::uint64_t>(c - '0');
      if (c < '0' || c > '9' || value > (max - digit) / 10) {
        ok = false;
        break;
      }
      value = value * 10 + digit;
    }
    if (!ok) {
      where_.fail(path, "invalid unsigned integer " + quote(text) + " (want 0.." +
                            std::to_string(max) + ")");
    }
    return value;
  }

  bool boolean(const YAML::Node& node, const std::string& path) const {
    std::string text = scalar(node, path, "true or false");
    bool value = false;
    if (!YAML::convert<bool>::decode(node, value)) {
      where_.fail(path, "invalid boolean " + quote(text) + " (want true or false)");
    }
    return value;
  }

  Duration duration(const YAML::Node& node, const std::string& path) const {
    std::string text = scalar(node, path, "a duration");
    auto value = common::parse_duration(text);
    if (!value) where_.fail(path, "invalid duration " + quote(text) + " " + std::string(kDurationHint));
    return *value;
  }

  std::uint64_t size(const YAML::Node& node, const std::string& path) const {
    std::string text = scalar(node, path, "a size");
    auto value = common::parse_size(text);
    if (!value) where_.fail(path, "invalid size " + quote(text) + " " + std::string(kSizeHint));
    return *value;
  }

  template <typename E>
  E choice(const YAML::Node& node, const std::string& path,
           std::initializer_list<std::pair<std::string_view, E>> options) const {
    std::string text = scalar(node, path, "a string");
    std::string names;
    for (const auto& [name, value] : options) {
      if (text == name) return value;
      names += names.empty() ? "" : ", ";
      names += name;
    }
    where_.fail(path, "invalid value " + quote(text) + " (want one of: " + names + ")");
  }

 private:
  std::string scalar(const YAML::Node& node, const std::string& path, std::string_view want) const {
    if (!node.IsScalar()) where_.fail(path, "want " + std::string(want) + ", got " + describe(node));
    return node.Scalar();
  }

  const SourceMap& where_;
};

// One YAML map at `path`: rejects unknown and duplicate keys, records where each value is, and
// hands out values by key. A null node (e.g. `tenant:` with nothing under it) reads as empty.
class MapReader {
 public:
  MapReader(SourceMap& where, const YAML::Node& node, std::string path, Keys known,
            Keys not_yet = {})
      : where_(where), values_(where), path_(std::move(path)) {
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      where_.fail(path_, "want a map" + std::string(path_.empty() ? " at the top level" : "") + ", got " +
                      describe(node));
    }
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      SourceLocation key_at = location_of(key.Mark());
      if (!key.IsScalar()) where_.fail_at(key_at, path_, "map keys must be strings");
      std::string name = key.Scalar();
      std::string key_path = child(name);
      for (std::string_view future : not_yet) {
        if (name == future) where_.fail_at(key_at, key_path, "key not supported (yet)");
      }
      bool is_known = false;
      for (std::string_view k : known) is_known = is_known || name == k;
      if (!is_known) {
        where_.fail_at(key_at, key_path,
                       "unknown key " + quote(name) + " (known keys here: " + list_keys(known) + ")");
      }
      for (const auto& seen : entries_) {
        if (seen.first == name) where_.fail_at(key_at, key_path, "duplicate key");
      }
      // A null value has no position of its own; point at its key instead.
      const YAML::Node& value = entry.second;
      where_.add(key_path, value.IsNull() ? key_at : location_of(value.Mark()));
      entries_.emplace_back(name, value);
    }
  }

  std::string child(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  std::optional<YAML::Node> get(std::string_view key) const {
    for (const auto& [name, value] : entries_) {
      if (name == key) return value;
    }
    return std::nullopt;
  }

  // Overwrite `out` only when the key is present, so absent keys keep config.h's defaults.
  void string(std::string_view key, std::string& out) const {
    if (auto n = get(key)) out = values_.string(*n, child(key));
  }
  template <typename T>
  void uint(std::string_view key, T& out) const {
    if (auto n = get(key)) {
      out = static_cast<T>(values_.uint(*n, child(key), std::numeric_limits<T>::max()));
    }
  }
  void boolean(std::string_view key, bool& out) const {
    if (auto n = get(key)) out = values_.boolean(*n, child(key));
  }
  void duration(std::string_view key, Duration& out) const {
    if (auto n = get(key)) out = values_.duration(*n, child(key));
  }
  void size(std::string_view key, std::uint64_t& out) const {
    if (auto n = get(key)) out = values_.size(*n, child(key));
  }
  void string_list(std::string_view key, std::vector<std::string>& out) const {
    auto n = get(key);
    if (!n) return;
    out.clear();
    std::string path = child(key);
    if (n->IsNull()) return;
    if (!n->IsSequence()) where_.fail(path, "want a list of strings, got " + describe(*n));
    for (std::size_t i = 0; i < n->size(); ++i) {
      YAML::Node item = (*n)[i];
      std::string at = item_path(path, i);
      where_.add(at, location_of(item.Mark()));
      out.push_back(values_.string(item, at));
    }
  }

  const Values& values() const { return values_; }

 private:
  SourceMap& where_;
  Values values_;
  std::string path_;
  std::vector<std::pair<std::string, YAML::Node>> entries_;  // in document order
};

class Loader {
 public:
  explicit Loader(SourceMap& where) : where_(where) {}

  Config load(const YAML::Node& root) {
    Config config;
    where_.add("", location_of(root.Mark()));
    MapReader top(where_, root, "", {"server", "tls", "tenant", "routes", "upstreams"},
                  {"limits", "read", "admin"});
    if (auto n = top.get("server")) read_server(*n, config.server);
    if (auto n = top.get("tls")) read_tls(*n, config.tls);
    if (auto n = top.get("tenant")) read_tenant(*n, config.tenant);
    if (auto n = top.get("upstreams")) read_upstreams(*n, config.upstreams);
    if (auto n = top.get("routes")) read_routes(*n, config.routes);
    return config;
  }

 private:
  void read_server(const YAML::Node& node, ServerConfig& out) {
    MapReader m(where_, node, "server",
                {"listen", "threads", "max_connections", "max_request_body_bytes",
                 "read_header_timeout", "idle_timeout", "request_timeout", "http2",
                 "shutdown_grace_period"});
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
    m.duration("read_header_timeout", out.read_header_timeout);
    m.duration("idle_timeout", out.idle_timeout);
    m.duration("request_timeout", out.request_timeout);
    m.boolean("http2", out.http2);
    m.duration("shutdown_grace_period", out.shutdown_grace_period);
  }

  void read_tls(const YAML::Node& node, TlsConfig& out) {
    MapReader m(where_, node, "tls",
                {"cert_file", "key_file", "client_ca_file", "crl_file", "min_version",
                 "reload_interval"});
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

  void read_routes(const YAML::Node& node, std::vector<RouteConfig>& out) {
    if (node.IsNull()) return;  // the validator reports "no routes"
    if (!node.IsSequence()) where_.fail("routes", "want a list of routes, got " + describe(node));
    for (std::size_t i = 0; i < node.size(); ++i) {
      YAML::Node item = node[i];
      std::string base = item_path("routes", i);
      where_.add(base, location_of(item.Mark()));
      if (!item.IsMap()) where_.fail(base, "want a map, got " + describe(item));
      MapReader m(where_, item, base, {"path", "path_prefix", "kind", "upstream", "clients"},
                  {"rewrite"});
      RouteConfig route;
      bool has_path = m.get("path").has_value();
      bool has_prefix = m.get("path_prefix").has_value();
      if (has_path && has_prefix) {
        where_.fail(m.child("path_prefix"), "set either path or path_prefix, not both");
      }
      if (!has_path && !has_prefix) where_.fail(base, "path or path_prefix is required");
      route.is_prefix = has_prefix;
      m.string(has_prefix ? "path_prefix" : "path", route.path);
      auto kind = m.get("kind");
      if (!kind) {
        where_.fail(m.child("kind"),
                    "required (prometheus_remote_write, loki_push or passthrough)");
      }
      route.kind = m.values().choice<RouteKind>(
          *kind, m.child("kind"),
          {{"prometheus_remote_write", RouteKind::kPrometheusRemoteWrite},
           {"loki_push", RouteKind::kLokiPush},
           {"passthrough", RouteKind::kPassthrough}});
      m.string("upstream", route.upstream);
      m.string_list("clients", route.clients);
      out.push_back(std::move(route));
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
        MapReader t(where_, *tls, m.child("tls"), {"ca_file", "cert_file", "key_file", "server_name"});
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

}  // namespace

Config load_config_string(const std::string& yaml, const std::string& source_name,
                          bool check_files) {
  SourceMap where(source_name);
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(yaml);
    if (documents.size() > 1) {
      where.fail_at(location_of(documents[1].Mark()), "", "only one YAML document is supported");
    }
    Config config = Loader(where).load(documents.empty() ? YAML::Node() : documents[0]);
    config.source_file = source_name;
    validate(config, where, check_files);
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
