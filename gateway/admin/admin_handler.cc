#include "gateway/admin/admin_handler.h"

#include <exception>
#include <string_view>

#include "gateway/admin/admin_auth.h"
#include "gateway/admin/metrics_page.h"
#include "gateway/admin/prometheus_text.h"
#include "gateway/admin/status_page.h"
#include "gateway/admin/tenant_api.h"

namespace mla::admin {
namespace {

Response text(int status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

Response metrics(AdminContext& context) {
  Response response;
  response.content_type = std::string(kTextContentType);
  response.body = render_metrics(context);
  return response;
}

Response ready(const AdminContext& context) {
  if (context.status.draining.load()) return text(503, "not ready: draining\n");
  if (!context.status.listening.load()) return text(503, "not ready: starting\n");
  if (context.status.certificate_expired()) {
    return text(503, "not ready: the server certificate has expired\n");
  }
  return text(200, "OK\n");
}

Response status_page(AdminContext&) {
  Response response;
  response.content_type = "text/html; charset=utf-8";
  response.body = std::string(status_page_html());
  response.headers.emplace_back("Cache-Control", "no-store");
  // Self-contained: nothing may load from elsewhere, and no other site may frame it.
  response.headers.emplace_back(
      "Content-Security-Policy",
      "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
      "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  return response;
}

Response reload(AdminContext& context) {
  if (!context.reload) return text(503, "reload not available\n");
  std::string error = context.reload();
  if (!error.empty()) return text(500, "reload failed: " + error + "\n");
  return text(200, "configuration reloaded\n");
}

struct Route {
  std::string_view path;
  std::string_view method;
  Response (*handler)(AdminContext&);
};

const Route kRoutes[] = {
    {"/metrics", "GET", [](AdminContext& c) { return metrics(c); }},
    {"/-/healthy", "GET", [](AdminContext&) { return text(200, "OK\n"); }},
    {"/-/ready", "GET", [](AdminContext& c) { return ready(c); }},
    {"/-/reload", "POST", [](AdminContext& c) { return reload(c); }},
    {"/", "GET", [](AdminContext& c) { return status_page(c); }},
    {kTenantsPath, "GET", [](AdminContext& c) { return list_tenants(c); }},
    {kStatusPath, "GET", [](AdminContext& c) { return server_status(c); }},
};

Response wrong_method(const Request& request, std::string_view allowed, bool api) {
  std::string message =
      "method " + request.method + " not allowed (use " + std::string(allowed) + ")";
  Response response = api ? json_error(405, message) : text(405, message + "\n");
  response.headers.emplace_back("Allow", std::string(allowed));
  return response;
}

// Mutating calls on the TCP listener need the bearer token when admin.token_file is set.
std::optional<Response> check_token(const Request& request, AdminContext& context, bool api) {
  if (request.trusted || request.method == "GET" || request.method == "HEAD") return std::nullopt;
  auto config = context.config ? context.config() : nullptr;
  if (!config || config->admin.token.empty()) return std::nullopt;
  if (bearer_token_matches(request.authorization, config->admin.token)) return std::nullopt;
  const char* message = request.authorization.empty()
                            ? "authorization required: Authorization: Bearer <admin token>"
                            : "invalid admin token";
  Response response = api ? json_error(401, message) : text(401, std::string(message) + "\n");
  response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"mla-gateway admin\"");
  return response;
}

Response dispatch(const Request& request, AdminContext& context) {
  std::string_view path = request.target;
  path = path.substr(0, path.find('?'));  // queries (e.g. from probes) are ignored
  const bool api = path.starts_with("/api/");
  for (const Route& route : kRoutes) {
    if (route.path != path) continue;
    if (request.method != route.method && !(route.method == "GET" && request.method == "HEAD")) {
      return wrong_method(request, route.method, api);
    }
    if (auto denied = check_token(request, context, api)) return *denied;
    return route.handler(context);
  }
  constexpr std::string_view kTenantPrefix = "/api/v1/tenants/";
  if (path.starts_with(kTenantPrefix)) {
    if (request.method != "POST") return wrong_method(request, "POST", true);
    if (auto denied = check_token(request, context, true)) return *denied;
    return change_tenant(context, path.substr(kTenantPrefix.size()), request.body);
  }
  if (api) return json_error(404, "not found: " + std::string(path));
  return text(404, "not found: " + std::string(path) + "\n");
}

}  // namespace

Response handle_admin(const Request& request, AdminContext& context) {
  try {
    Response response = dispatch(request, context);
    if (request.method == "HEAD") response.body.clear();
    return response;
  } catch (const std::exception& e) {
    return text(500, std::string("internal error: ") + e.what() + "\n");
  }
}

}  // namespace mla::admin
