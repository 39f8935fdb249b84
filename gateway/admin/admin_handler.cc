#include "gateway/admin/admin_handler.h"

#include <exception>
#include <string_view>

#include "gateway/admin/metrics_page.h"
#include "gateway/admin/prometheus_text.h"

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
  return text(200, "OK\n");
}

struct Route {
  std::string_view path;
  Response (*handler)(AdminContext&);
};

const Route kRoutes[] = {
    {"/metrics", [](AdminContext& c) { return metrics(c); }},
    {"/-/healthy", [](AdminContext&) { return text(200, "OK\n"); }},
    {"/-/ready", [](AdminContext& c) { return ready(c); }},
};

}  // namespace

Response handle_admin(const Request& request, AdminContext& context) {
  std::string_view path = request.target;
  path = path.substr(0, path.find('?'));  // queries (e.g. from probes) are ignored
  for (const Route& route : kRoutes) {
    if (route.path != path) continue;
    if (request.method != "GET") {
      Response response = text(405, "method " + request.method + " not allowed (use GET)\n");
      response.headers.emplace_back("Allow", "GET");
      return response;
    }
    try {
      return route.handler(context);
    } catch (const std::exception& e) {
      return text(500, std::string("internal error: ") + e.what() + "\n");
    }
  }
  return text(404, "not found: " + std::string(path) + "\n");
}

}  // namespace mla::admin
