#include "gateway/config/limits_loader.h"

#include <arpa/inet.h>

#include <string_view>
#include <utility>

#include "gateway/config/yaml_reader.h"

namespace mla::config {
namespace {

using ratelimit::LogsLimits;
using ratelimit::MetricsLimits;
using ratelimit::QueryLimits;
using ratelimit::TenantLimits;

void read_metrics(SourceMap& where, const YAML::Node& node, const std::string& path,
                  MetricsLimits& out) {
  MapReader m(where, node, path,
              {"requests_per_second", "burst_requests", "samples_per_second", "burst_samples",
               "bytes_per_second", "burst_bytes"});
  m.number("requests_per_second", out.requests_per_second);
  m.number("burst_requests", out.burst_requests);
  m.number("samples_per_second", out.samples_per_second);
  m.number("burst_samples", out.burst_samples);
  m.bytes("bytes_per_second", out.bytes_per_second);
  m.bytes("burst_bytes", out.burst_bytes);
}

void read_logs(SourceMap& where, const YAML::Node& node, const std::string& path, LogsLimits& out) {
  MapReader m(where, node, path,
              {"requests_per_second", "burst_requests", "lines_per_second", "burst_lines",
               "bytes_per_second", "burst_bytes"});
  m.number("requests_per_second", out.requests_per_second);
  m.number("burst_requests", out.burst_requests);
  m.number("lines_per_second", out.lines_per_second);
  m.number("burst_lines", out.burst_lines);
  m.bytes("bytes_per_second", out.bytes_per_second);
  m.bytes("burst_bytes", out.burst_bytes);
}

void read_queries(SourceMap& where, const YAML::Node& node, const std::string& path,
                  QueryLimits& out) {
  MapReader m(where, node, path, {"requests_per_second", "burst_requests"});
  m.number("requests_per_second", out.requests_per_second);
  m.number("burst_requests", out.burst_requests);
}

// A DNS name: dot-separated labels of 1-63 letters, digits, '-' or '_' (Kubernetes names),
// at most 253 characters, an optional trailing dot (no search domains then).
bool is_dns_name(std::string_view name) {
  if (name.ends_with('.')) name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label != 0;
}

// "ipv4[:port]" or "[ipv6][:port]" (port 1-65535; 53 when absent), as c-ares takes it: DNS
// servers are asked by address, so no host names.
bool is_dns_server(std::string_view text) {
  std::string host;
  std::string_view port;
  int family = AF_INET;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(text.substr(1, close - 1));
    family = AF_INET6;
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return false;
    if (!rest.empty()) port = rest.substr(1);
    if (rest == ":") return false;
  } else {
    const auto colon = text.find(':');
    host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = text.substr(colon + 1);
      if (port.empty()) return false;
    }
  }
  unsigned char address[16];
  if (inet_pton(family, host.c_str(), address) != 1) return false;
  if (port.empty()) return true;
  if (port.size() > 5) return false;
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value >= 1 && value <= 65535;
}

// {metrics: {...}, logs: {...}, queries: {...}}, each part optional; applied on top of `out`.
void read_tenant_limits(SourceMap& where, const YAML::Node& node, const std::string& path,
                        TenantLimits& out) {
  MapReader m(where, node, path, {"metrics", "logs", "queries"});
  if (auto n = m.get("metrics")) read_metrics(where, *n, m.child("metrics"), out.metrics);
  if (auto n = m.get("logs")) read_logs(where, *n, m.child("logs"), out.logs);
  if (auto n = m.get("queries")) read_queries(where, *n, m.child("queries"), out.queries);
}

// tenant ID -> partial TenantLimits. An entry's path is recorded at its key (the tenant ID), so
// errors about the entry itself, such as an invalid tenant ID, point at the ID.
void read_overrides(SourceMap& where, const YAML::Node& node, const std::string& path,
                    const TenantLimits& defaults,
                    std::map<std::string, TenantLimits, std::less<>>& out) {
  if (node.IsNull()) return;
  if (!node.IsMap()) where.fail(path, "want a map of tenant ID -> limits, got " + describe(node));
  for (const auto& entry : node) {
    SourceLocation key_at = location_of(entry.first.Mark());
    if (!entry.first.IsScalar()) where.fail_at(key_at, path, "tenant IDs must be strings");
    std::string tenant = entry.first.Scalar();
    std::string base = path;
    base.append(".").append(tenant);
    if (out.contains(tenant)) where.fail_at(key_at, base, "duplicate key");
    where.add(base, key_at);
    TenantLimits limits = defaults;
    read_tenant_limits(where, entry.second, base, limits);
    out.emplace(std::move(tenant), limits);
  }
}

}  // namespace

void read_limits(SourceMap& where, const YAML::Node& node, const std::string& path,
                 ratelimit::LimitsConfig& out) {
  MapReader m(where, node, path,
              {"replicas", "limited_status", "disabled_status", "defaults", "overrides",
               "replicas_from_dns", "replicas_dns_interval", "replicas_dns_server"});
  m.uint("replicas", out.replicas);
  m.string("replicas_from_dns", out.replicas_from_dns);
  if (!out.replicas_from_dns.empty() && !is_dns_name(out.replicas_from_dns)) {
    where.fail(m.child("replicas_from_dns"),
               "invalid DNS name " + quote(out.replicas_from_dns) +
                   " (want labels of 1-63 characters a-z A-Z 0-9 - _, separated by dots)");
  }
  m.duration("replicas_dns_interval", out.replicas_dns_interval);
  m.string("replicas_dns_server", out.replicas_dns_server);
  if (!out.replicas_dns_server.empty() && !is_dns_server(out.replicas_dns_server)) {
    where.fail(m.child("replicas_dns_server"),
               "invalid DNS server " + quote(out.replicas_dns_server) +
                   " (want ip:port or [ipv6]:port, the port optional)");
  }
  m.uint("limited_status", out.limited_status);
  m.uint("disabled_status", out.disabled_status);
  // Defaults first, whatever the document order: overrides are applied on top of them.
  if (auto n = m.get("defaults")) read_tenant_limits(where, *n, m.child("defaults"), out.defaults);
  if (auto n = m.get("overrides")) {
    read_overrides(where, *n, m.child("overrides"), out.defaults, out.overrides);
  }
}

}  // namespace mla::config
