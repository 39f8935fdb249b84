#include "gateway/admin/metrics_page.h"

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "gateway/admin/prometheus_text.h"
#include "gateway/ratelimit/replica_status.h"

namespace mla::admin {
namespace {

using common::Counter;
using common::Histogram;

constexpr std::string_view kPrefix = "mla_gateway_";

std::string name(std::string_view metric) { return std::string(kPrefix).append(metric); }

void request_series(TextWriter& out, const common::RequestMetrics& m) {
  const std::string requests = name("requests_total");
  out.header(requests, "counter", "Requests answered, by tenant, route and HTTP status.");
  m.requests.visit([&](const std::vector<std::string>& l, const Counter& value) {
    out.sample(requests, {{"tenant", l[0]}, {"route", l[1]}, {"code", l[2]}}, value.load());
  });
  const std::string duration = name("request_duration_seconds");
  out.header(duration, "histogram",
             "Time from the end of the request header to the end of the response, by route.");
  m.request_duration.visit([&](const std::vector<std::string>& l, const Histogram& h) {
    out.histogram(duration, {{"route", l[0]}}, h.snapshot());
  });
  const std::string upstream = name("upstream_requests_total");
  out.header(upstream, "counter",
             "Requests forwarded upstream, by upstream and status (error/timeout: no answer).");
  m.upstream_requests.visit([&](const std::vector<std::string>& l, const Counter& value) {
    out.sample(upstream, {{"upstream", l[0]}, {"code", l[1]}}, value.load());
  });
  const std::string upstream_duration = name("upstream_duration_seconds");
  out.header(upstream_duration, "histogram",
             "Time from forwarding a request to the upstream's full answer, by upstream.");
  m.upstream_duration.visit([&](const std::vector<std::string>& l, const Histogram& h) {
    out.histogram(upstream_duration, {{"upstream", l[0]}}, h.snapshot());
  });
}

// One metric per TenantTraffic field; each loops over the tenants (sharded map, locked per shard).
void tenant_series(TextWriter& out, const common::TenantCounters& tenants) {
  struct Field {
    std::string_view metric;
    std::string_view help;
    const std::atomic<std::uint64_t> common::TenantTraffic::*counter;
    bool with_route;
  };
  const Field fields[] = {
      {"received_samples_total", "Samples, histograms and exemplars admitted, by tenant.",
       &common::TenantTraffic::samples, false},
      {"received_log_lines_total", "Log lines admitted, by tenant.",
       &common::TenantTraffic::log_lines, false},
      {"received_bytes_total", "Request body bytes admitted as received, by tenant (route=all).",
       &common::TenantTraffic::body_bytes, true},
  };
  for (const Field& field : fields) {
    const std::string metric = name(field.metric);
    out.header(metric, "counter", field.help);
    tenants.visit([&](const std::string& tenant, const common::TenantTraffic& traffic) {
      auto value = (traffic.*field.counter).load(std::memory_order_relaxed);
      if (field.with_route) {
        out.sample(metric, {{"tenant", tenant}, {"route", kAllRoutes}}, value);
      } else {
        out.sample(metric, {{"tenant", tenant}}, value);
      }
    });
  }
  const std::string rejected = name("rejected_requests_total");
  out.header(rejected, "counter",
             "Requests refused by the gateway, by tenant and reason (route=all).");
  tenants.visit([&](const std::string& tenant, const common::TenantTraffic& traffic) {
    for (std::size_t i = 0; i < common::kRejectReasonNames.size(); ++i) {
      out.sample(
          rejected,
          {{"tenant", tenant}, {"route", kAllRoutes}, {"reason", common::kRejectReasonNames[i]}},
          traffic.rejected[i].load(std::memory_order_relaxed));
    }
  });
}

// 1 for every tenant seen on the data plane, 0 for every disabled one (seen or not): bounded by
// TenantCounters::kMaxTenants plus the disabled set an operator made.
void enabled_series(TextWriter& out, const common::TenantCounters& tenants,
                    const tenant::TenantSwitch* switches) {
  const std::string metric = name("tenant_enabled");
  out.header(metric, "gauge",
             "Whether a tenant may send (1) or is disabled by the kill switch (0).");
  const tenant::DisabledMap disabled = switches ? switches->snapshot() : tenant::DisabledMap{};
  std::set<std::string> names;
  tenants.visit(
      [&](const std::string& tenant, const common::TenantTraffic&) { names.insert(tenant); });
  for (const auto& [tenant, entry] : disabled) names.insert(tenant);
  for (const std::string& tenant : names) {
    out.sample(metric, {{"tenant", tenant}}, disabled.contains(tenant) ? 0.0 : 1.0);
  }
}

void connection_series(TextWriter& out, const common::Stats& stats) {
  const std::string failures = name("tls_handshake_failures_total");
  out.header(failures, "counter", "TLS handshakes that failed, by reason.");
  for (std::size_t i = 0; i < common::kHandshakeFailureReasons.size(); ++i) {
    out.sample(failures, {{"reason", common::kHandshakeFailureReasons[i]}},
               stats.handshake_failures[i].load(std::memory_order_relaxed));
  }
  const std::string open = name("open_connections");
  out.header(open, "gauge", "Client connections open now.");
  out.sample(open, {}, static_cast<double>(stats.open_connections.load()));
  const std::string refused = name("connections_refused_total");
  out.header(refused, "counter", "Client connections closed at accept: server.max_connections.");
  out.sample(refused, {}, stats.connections_refused_over_limit.load());
}

// Every certificate file of the running config, with the expiry it had when it was loaded.
void certificate_series(TextWriter& out, const tls::CertificateExpiry& certificates) {
  const std::string metric = name("certificate_expiry_timestamp_seconds");
  out.header(metric, "gauge",
             "notAfter of the first certificate in each configured file, as loaded (Unix s).");
  for (const auto& [file, not_after] : certificates) {
    auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(not_after.time_since_epoch()).count();
    out.sample(metric, {{"file", file}}, static_cast<double>(seconds));
  }
}

// The divisor of the rate limits and the DNS lookups behind it (limits.replicas_from_dns).
void replica_series(TextWriter& out, const ratelimit::ReplicaStatus& replicas) {
  const std::string divisor = name("limits_replicas");
  out.header(divisor, "gauge",
             "Gateway replicas the tenant rates are divided by (limits.replicas or DNS).");
  out.sample(divisor, {}, static_cast<double>(replicas.replicas.load(std::memory_order_relaxed)));
  const std::string lookups = name("limits_replicas_dns_lookups_total");
  out.header(lookups, "counter", "Lookups of limits.replicas_from_dns, by result (ok, error).");
  out.sample(lookups, {{"result", "ok"}}, replicas.dns_lookups_ok.load(std::memory_order_relaxed));
  out.sample(lookups, {{"result", "error"}},
             replicas.dns_lookups_error.load(std::memory_order_relaxed));
}

void lifecycle_series(TextWriter& out, const ServerStatus& status) {
  const std::string ok = name("config_last_reload_successful");
  out.header(ok, "gauge",
             "Whether the last configuration load or reload succeeded (1) or not (0).");
  out.sample(ok, {}, status.last_reload_successful.load() ? 1.0 : 0.0);
  const std::string at = name("config_last_reload_success_timestamp_seconds");
  out.header(at, "gauge", "Unix time of the last successful configuration load or reload.");
  out.sample(at, {}, static_cast<double>(status.last_reload_success_ms.load()) / 1000.0);
  const std::string build = name("build_info");
  out.header(build, "gauge", "Always 1; the version as a label.");
  out.sample(build, {{"version", MLA_VERSION}}, 1.0);
}

void process_series(TextWriter& out, const std::optional<ProcessStats>& process) {
  if (!process) return;
  out.header("process_cpu_seconds_total", "counter",
             "Total user and system CPU time spent in seconds.");
  out.sample("process_cpu_seconds_total", {}, process->cpu_seconds);
  out.header("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  out.sample("process_resident_memory_bytes", {}, process->resident_bytes);
  out.header("process_open_fds", "gauge", "Number of open file descriptors.");
  out.sample("process_open_fds", {}, process->open_fds);
  out.header("process_start_time_seconds", "gauge",
             "Start time of the process since unix epoch in seconds.");
  out.sample("process_start_time_seconds", {}, process->start_time_seconds);
}

}  // namespace

std::string render_metrics(const AdminContext& context) {
  TextWriter out;
  request_series(out, context.requests);
  tenant_series(out, context.tenants);
  enabled_series(out, context.tenants, context.switches);
  connection_series(out, context.stats);
  certificate_series(out, context.certificates ? context.certificates() : tls::CertificateExpiry{});
  replica_series(out, ratelimit::replica_status());
  lifecycle_series(out, context.status);
  process_series(out, context.process ? context.process() : std::nullopt);
  return out.take();
}

}  // namespace mla::admin
