#include "gateway/config/limits_loader.h"

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
              {"replicas", "limited_status", "disabled_status", "defaults", "overrides"});
  m.uint("replicas", out.replicas);
  m.uint("limited_status", out.limited_status);
  m.uint("disabled_status", out.disabled_status);
  // Defaults first, whatever the document order: overrides are applied on top of them.
  if (auto n = m.get("defaults")) read_tenant_limits(where, *n, m.child("defaults"), out.defaults);
  if (auto n = m.get("overrides")) {
    read_overrides(where, *n, m.child("overrides"), out.defaults, out.overrides);
  }
}

}  // namespace mla::config
