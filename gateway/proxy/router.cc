#include "gateway/proxy/router.h"

namespace mla::proxy {

std::string_view target_path(std::string_view target) {
  auto q = target.find('?');
  return q == std::string_view::npos ? target : target.substr(0, q);
}

const config::RouteConfig* match_route(const std::vector<config::RouteConfig>& routes,
                                       std::string_view target) {
  std::string_view path = target_path(target);
  const config::RouteConfig* best = nullptr;
  std::size_t best_len = 0;
  bool best_exact = false;
  for (const auto& route : routes) {
    bool exact = !route.is_prefix;
    bool matches = exact ? path == route.path : path.starts_with(route.path);
    if (!matches) continue;
    std::size_t len = route.path.size();
    if (best == nullptr || len > best_len || (len == best_len && exact && !best_exact)) {
      best = &route;
      best_len = len;
      best_exact = exact;
    }
  }
  return best;
}

std::string rewrite_target(const config::RouteConfig& route, std::string_view target) {
  if (route.rewrite.empty()) return std::string(target);
  // Both kinds of route matched `route.path` at the start of the target.
  return route.rewrite + std::string(target.substr(route.path.size()));
}

}  // namespace mla::proxy
