#include "gateway/proxy/router.h"

#include <catch2/catch.hpp>
#include <vector>

namespace mla::proxy {
namespace {

config::RouteConfig exact(std::string path, std::string rewrite = "") {
  config::RouteConfig route;
  route.path = std::move(path);
  route.rewrite = std::move(rewrite);
  return route;
}

config::RouteConfig prefix(std::string path, std::string rewrite = "") {
  config::RouteConfig route = exact(std::move(path), std::move(rewrite));
  route.is_prefix = true;
  return route;
}

// Kubermatic's read routes (DESIGN.md §3 `read`).
const std::vector<config::RouteConfig> kRead = {
    prefix("/api/prom/alertmanager/"),
    exact("/api/prom/api/v1/alerts", "/api/v1/alerts"),
    exact("/api/prom/api/v1/rules", "/prometheus/api/v1/rules"),
    prefix("/api/prom/"),
    prefix("/loki/api/"),
    prefix("/prometheus/"),
};

TEST_CASE("the longest match wins, an exact path beats a prefix", "[router]") {
  CHECK(match_route(kRead, "/api/prom/api/v1/query?query=up") == &kRead[3]);
  CHECK(match_route(kRead, "/api/prom/api/v1/rules") == &kRead[2]);
  CHECK(match_route(kRead, "/api/prom/api/v1/rules/x") == &kRead[3]);
  CHECK(match_route(kRead, "/api/prom/alertmanager/api/v2/silences") == &kRead[0]);
  CHECK(match_route(kRead, "/loki/api/v1/query_range?query=%7Bjob%3D%22x%22%7D") == &kRead[4]);
  CHECK(match_route(kRead, "/api/pro") == nullptr);
  CHECK(match_route(kRead, "/") == nullptr);
  // The query string is not part of the path.
  CHECK(match_route(kRead, "/api/prom/api/v1/alerts?x=/api/prom/") == &kRead[1]);

  const std::vector<config::RouteConfig> tie = {prefix("/a"), exact("/a")};
  CHECK(match_route(tie, "/a") == &tie[1]);
  CHECK(match_route(tie, "/ab") == &tie[0]);
}

TEST_CASE("rewrite replaces the matched path or prefix and keeps the rest", "[router]") {
  CHECK(rewrite_target(kRead[1], "/api/prom/api/v1/alerts") == "/api/v1/alerts");
  CHECK(rewrite_target(kRead[2], "/api/prom/api/v1/rules?type=alert") ==
        "/prometheus/api/v1/rules?type=alert");
  // No rewrite: the target as it came, query string untouched (encoded bytes included).
  CHECK(rewrite_target(kRead[3], "/api/prom/api/v1/query?query=sum%28up%29&time=1") ==
        "/api/prom/api/v1/query?query=sum%28up%29&time=1");
  const auto route = prefix("/grafana/prom/", "/prometheus/");
  CHECK(rewrite_target(route, "/grafana/prom/api/v1/query_range?step=15") ==
        "/prometheus/api/v1/query_range?step=15");
  CHECK(rewrite_target(route, "/grafana/prom/") == "/prometheus/");
}

}  // namespace
}  // namespace mla::proxy
