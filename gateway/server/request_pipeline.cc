#include "gateway/server/request_pipeline.h"

#include <fmt/format.h>

#include <algorithm>

#include "gateway/common/logging.h"
#include "gateway/common/metrics.h"
#include "gateway/http1/header_policy.h"
#include "gateway/proxy/admission.h"
#include "gateway/proxy/router.h"
#include "gateway/tenant/tenant_switch.h"

namespace mla::server {
namespace {

std::string_view header_value(const http::request_header<>& request, http::field field) {
  auto it = request.find(field);
  return it == request.end() ? std::string_view{} : std::string_view(it->value());
}

std::string status_text(http::status status) { return std::to_string(static_cast<int>(status)); }

bool client_listed(const config::RouteConfig& route, const std::vector<std::string>& names) {
  return std::any_of(names.begin(), names.end(), [&](const auto& name) {
    return std::find(route.clients.begin(), route.clients.end(), name) != route.clients.end();
  });
}

Refusal plain(http::status status, std::string reason) { return {status, std::move(reason)}; }

}  // namespace

RequestPipeline::RequestPipeline(Worker& worker, ConnectionInfo& info, SSL* ssl)
    : worker_(worker), info_(info), ssl_(ssl) {}

Refusal RequestPipeline::refuse(common::RejectReason counted_as, http::status status,
                                std::string reason) {
  auto& traffic = worker_.shared().tenants.of(info_.tenant.tenant);
  traffic.rejected[static_cast<std::size_t>(counted_as)].fetch_add(1, std::memory_order_relaxed);
  return plain(status, std::move(reason));
}

Refusal RequestPipeline::disabled(std::int64_t retry_after_seconds) {
  const int status = worker_.runtime()->config->limits.disabled_status;
  Refusal refusal = refuse(common::RejectReason::kDisabled, static_cast<http::status>(status),
                           fmt::format("tenant {} is disabled", info_.tenant.tenant));
  refusal.retry_after_seconds = retry_after_seconds;
  refusal.tenant_disabled = true;
  return refusal;
}

std::optional<Refusal> RequestPipeline::disabled_now() {
  auto retry = worker_.shared().switches.refused(info_.tenant.tenant);
  if (!retry) return std::nullopt;
  return disabled(*retry);
}

Refusal RequestPipeline::disabled_mid_body() {
  auto retry = worker_.shared().switches.refused(info_.tenant.tenant);
  return disabled(retry.value_or(tenant::TenantSwitch::kIndefiniteRetryAfter));
}

Refusal RequestPipeline::body_too_large(std::uint64_t max_body) {
  return refuse(common::RejectReason::kTooLarge, http::status::payload_too_large,
                fmt::format("request body exceeds max_request_body_bytes ({})", max_body));
}

HeadCheck RequestPipeline::check_head(const Runtime& runtime, const http::request_header<>& request,
                                      std::optional<std::uint64_t> content_length) {
  const auto& config = *runtime.config;
  HeadCheck check;
  if (runtime.tenants != info_.mapped_by) {
    // A reload changed the tenant rules: this connection's certificate is judged by the new
    // ones, as a new connection would be (a tenant dropped from tenant.allowed stops here).
    info_.tenant = runtime.tenants->map(SSL_get0_peer_certificate(ssl_));
    info_.mapped_by = runtime.tenants;
  }
  if (!info_.tenant.ok()) {
    check.refusal = plain(http::status::forbidden,
                          fmt::format("no tenant for client certificate: {}", info_.tenant.error));
    return check;
  }
  if ((check.refusal = disabled_now())) return check;
  check.route = proxy::match_route(config.routes, request.target());
  if (check.route == nullptr) {
    check.refusal =
        plain(http::status::not_found,
              fmt::format("no route for path {}", proxy::target_path(request.target())));
    return check;
  }
  const config::RouteConfig& route = *check.route;
  if (route.kind != config::RouteKind::kPassthrough && request.method() != http::verb::post) {
    check.refusal = plain(http::status::method_not_allowed,
                          fmt::format("method {} not allowed on {} (use POST)",
                                      std::string_view(request.method_string()), route.path));
    return check;
  }
  if (!route.clients.empty() && !client_listed(route, info_.client_names)) {
    check.refusal = refuse(
        common::RejectReason::kForbidden, http::status::forbidden,
        fmt::format("client certificate is not in the clients list of route {}", route.path));
    return check;
  }
  const std::uint64_t max_body = config.server.max_request_body_bytes;
  if (content_length.value_or(0) > max_body) {
    check.refusal = refuse(common::RejectReason::kTooLarge, http::status::payload_too_large,
                           fmt::format("request body of {} bytes exceeds max_request_body_bytes "
                                       "({})",
                                       *content_length, max_body));
  }
  return check;
}

awaitable<Forwarded> RequestPipeline::forward(const Runtime& runtime,
                                              const config::RouteConfig& route,
                                              proxy::UpstreamRequest& request) {
  const auto& config = *runtime.config;
  Forwarded forwarded;
  // Inspect and charge before anything reaches the upstream.
  proxy::Admission admission = proxy::admit(
      config, route,
      {info_.tenant.tenant, header_value(request, http::field::content_type),
       header_value(request, http::field::content_encoding), proxy::body_view(request)},
      worker_.scan_buffers(), worker_.shared().limiter);
  common::TenantTraffic& traffic = worker_.shared().tenants.of(info_.tenant.tenant);
  if (!admission.admitted) {
    forwarded.refusal = refuse(admission.reject_reason, static_cast<http::status>(admission.status),
                               std::move(admission.reason));
    forwarded.refusal->retry_after_seconds = admission.retry_after_seconds;
    co_return forwarded;
  }
  proxy::count_admitted(traffic, admission, request.body().size());

  const bool is_head = request.method() == http::verb::head;
  std::shared_ptr<proxy::UpstreamPool> pool = worker_.pool(runtime, route.upstream);
  const auto& upstream = pool->config();
  http1::prepare_upstream_headers(request, config.tenant.header, info_.tenant.tenant,
                                  fmt::format("{}:{}", upstream.host, upstream.port));
  if (!upstream.base_path.empty() || !route.rewrite.empty()) {  // else the target stays as is
    request.target(upstream.base_path + proxy::rewrite_target(route, request.target()));
  }
  request.version(11);
  request.keep_alive(true);
  request.prepare_payload();

  const auto forwarded_at = std::chrono::steady_clock::now();
  proxy::ForwardResult result = co_await pool->forward(request, is_head);
  common::request_metrics().count_upstream(upstream.name,
                                           result.response ? result.response->result_int() : 0,
                                           result.error_status == http::status::gateway_timeout,
                                           std::chrono::steady_clock::now() - forwarded_at);
  if (!result.response) {
    forwarded.refusal = plain(result.error_status, std::move(result.error));
    co_return forwarded;
  }
  Response& response = forwarded.response.emplace(std::move(*result.response));
  common::request_metrics().count_request(info_.tenant.tenant, route.path, response.result_int());
  http1::strip_hop_by_hop(response);
  log::debug("request", {{"remote", info_.remote},
                         {"protocol", info_.protocol},
                         {"tenant", info_.tenant.tenant},
                         {"route", route.path},
                         {"upstream", upstream.name},
                         {"status", status_text(response.result())},
                         {"bytes", std::to_string(request.body().size())},
                         {"samples", std::to_string(admission.counts.metric_cost())},
                         {"lines", std::to_string(admission.counts.log_lines)},
                         {"log_bytes", std::to_string(admission.counts.log_bytes)}});
  co_return forwarded;
}

Response RequestPipeline::answer(const http::request_header<>& request, const Refusal& refusal,
                                 std::string_view route) {
  Response response{refusal.status, request.version()};
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.body() = fmt::format("{}\n", refusal.reason);
  if (refusal.status == http::status::method_not_allowed) response.set(http::field::allow, "POST");
  if (refusal.retry_after_seconds > 0) {
    response.set(http::field::retry_after, std::to_string(refusal.retry_after_seconds));
  }
  log::warn("request rejected", {{"remote", info_.remote},
                                 {"protocol", info_.protocol},
                                 {"tenant", info_.tenant.tenant},
                                 {"route", route},
                                 {"method", request.method_string()},
                                 {"path", proxy::target_path(request.target())},
                                 {"status", status_text(refusal.status)},
                                 {"reason", refusal.reason}});
  common::request_metrics().count_request(info_.tenant.tenant, route, response.result_int());
  return response;
}

}  // namespace mla::server
