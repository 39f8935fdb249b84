// The tenant API (DESIGN.md §6) through handle_admin: no sockets, a fake clock, and persist /
// enforce callbacks that record what the server would save and which tenants it would cut off.
#include "gateway/admin/tenant_api.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "gateway/admin/admin_handler.h"

namespace mla::admin {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// 2026-11-25T12:00:00Z
const std::chrono::system_clock::time_point kStart{std::chrono::seconds(1795608000)};

struct Fixture {
  common::Stats stats;
  common::TenantCounters tenants;
  common::RequestMetrics requests;
  ServerStatus status;
  std::shared_ptr<config::Config> config = std::make_shared<config::Config>();
  std::chrono::system_clock::time_point now = kStart;
  tenant::TenantSwitch switches{[this] { return now; }};
  std::vector<tenant::DisabledMap> saved;
  std::vector<std::string> enforced;
  bool fail_save = false;
  AdminContext context{
      .stats = stats,
      .tenants = tenants,
      .requests = requests,
      .status = status,
      .config = [this] { return std::shared_ptr<const config::Config>(config); },
      .process = [] { return std::optional<ProcessStats>(); },
      .switches = &switches,
      .persist =
          [this](const tenant::DisabledMap& map) {
            if (fail_save) throw std::runtime_error("disk full");
            saved.push_back(map);
          },
      .enforce = [this](const std::string& tenant) { enforced.push_back(tenant); },
      .reload = [] { return std::string(); },
      .rates = {},
      .started = std::chrono::steady_clock::now(),
  };

  Response post(const std::string& target, const std::string& body = "",
                const std::string& authorization = "") {
    return handle_admin(
        {.method = "POST", .target = target, .body = body, .authorization = authorization},
        context);
  }
  Response get(const std::string& target) {
    return handle_admin({.method = "GET", .target = target}, context);
  }
  json tenant_entry(const std::string& name) {
    auto list = json::parse(get("/api/v1/tenants").body);
    for (const auto& t : list["tenants"]) {
      if (t["tenant"] == name) return t;
    }
    return nullptr;
  }
};

std::string error_of(const Response& r) { return json::parse(r.body).value("error", ""); }

TEST_CASE("disable with reason and duration: saved, enforced, listed, then expires", "[admin]") {
  Fixture f;
  auto r = f.post("/api/v1/tenants/cluster-a/disable", R"({"reason": "abuse", "duration": "1h"})");
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "application/json");
  auto entry = json::parse(r.body);
  CHECK(entry["tenant"] == "cluster-a");
  CHECK(entry["enabled"] == false);
  CHECK(entry["disabled_reason"] == "abuse");
  CHECK(entry["disabled_since"] == "2026-11-25T12:00:00Z");
  CHECK(entry["disabled_until"] == "2026-11-25T13:00:00Z");
  REQUIRE(f.saved.size() == 1);
  CHECK(f.saved[0].contains("cluster-a"));
  CHECK(f.enforced == std::vector<std::string>{"cluster-a"});
  CHECK(f.switches.refused("cluster-a") == 3600);

  // Never seen on the data plane, yet listed because it is disabled.
  CHECK(f.tenant_entry("cluster-a")["enabled"] == false);

  f.now += 1h;
  CHECK_FALSE(f.switches.refused("cluster-a"));
  CHECK(f.tenant_entry("cluster-a") == nullptr);
}

TEST_CASE("enable: saved, idempotent, and an unchanged map is not saved again", "[admin]") {
  Fixture f;
  REQUIRE(f.post("/api/v1/tenants/cluster-a/disable").status == 200);
  auto r = f.post("/api/v1/tenants/cluster-a/enable");
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body)["enabled"] == true);
  CHECK(json::parse(r.body)["disabled_since"] == nullptr);
  REQUIRE(f.saved.size() == 2);
  CHECK(f.saved[1].empty());
  CHECK(f.post("/api/v1/tenants/cluster-a/enable").status == 200);
  CHECK(f.saved.size() == 2);
  CHECK(f.enforced.size() == 1);  // enable enforces nothing
}

TEST_CASE("a failed save answers 500 and leaves the switch as it was", "[admin]") {
  Fixture f;
  f.fail_save = true;
  auto r = f.post("/api/v1/tenants/cluster-a/disable");
  CHECK(r.status == 500);
  CHECK_THAT(error_of(r), Catch::Contains("disk full"));
  CHECK_FALSE(f.switches.refused("cluster-a"));
  CHECK(f.enforced.empty());
}

TEST_CASE("bad tenant API requests are 4xx JSON errors and change nothing", "[admin]") {
  Fixture f;
  struct Case {
    const char* name;
    std::string target, body;
    int status;
    const char* error;
  };
  const std::vector<Case> cases = {
      {"invalid tenant", "/api/v1/tenants/a%20b/disable", "", 400, "invalid"},
      {"invalid tenant on enable", "/api/v1/tenants/a%2Fb/enable", "", 400, "invalid"},
      {"bad escape", "/api/v1/tenants/a%zz/disable", "", 400, "percent-encoding"},
      {"not JSON", "/api/v1/tenants/a/disable", "{", 400, "JSON object"},
      {"not an object", "/api/v1/tenants/a/disable", "[1]", 400, "JSON object"},
      {"NUL then more", "/api/v1/tenants/a/disable", std::string("{}\0{", 3), 400, "JSON object"},
      {"unknown key", "/api/v1/tenants/a/disable", R"({"why": "x"})", 400, "unknown key"},
      {"number reason", "/api/v1/tenants/a/disable", R"({"reason": 1})", 400, "string"},
      {"bad duration", "/api/v1/tenants/a/disable", R"({"duration": "soon"})", 400, "duration"},
      {"zero duration", "/api/v1/tenants/a/disable", R"({"duration": "0s"})", 400, "duration"},
      {"long reason", "/api/v1/tenants/a/disable", json{{"reason", std::string(1025, 'x')}}.dump(),
       400, "1024"},
      {"unknown action", "/api/v1/tenants/a/pause", "", 404, "not found"},
      {"no tenant", "/api/v1/tenants//disable", "", 404, "not found"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto r = f.post(c.target, c.body);
    CHECK(r.status == c.status);
    CHECK(r.content_type == "application/json");
    CHECK_THAT(error_of(r), Catch::Contains(c.error));
  }
  CHECK(f.saved.empty());
  CHECK(f.enforced.empty());
  CHECK(f.switches.snapshot().empty());

  auto wrong = f.get("/api/v1/tenants/a/disable");
  CHECK(wrong.status == 405);
  REQUIRE(wrong.headers.size() == 1);
  CHECK(wrong.headers[0] == std::pair<std::string, std::string>("Allow", "POST"));
}

TEST_CASE("percent-encoded reserved characters reach the switch decoded", "[admin]") {
  Fixture f;
  auto r = f.post("/api/v1/tenants/team.a_%28x%29%21/disable");
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body)["tenant"] == "team.a_(x)!");
  CHECK(f.switches.refused("team.a_(x)!"));
}

TEST_CASE("with a token configured, POSTs need it on TCP but not on the socket", "[admin]") {
  Fixture f;
  f.config->admin.token = "s3cret";
  auto missing = f.post("/api/v1/tenants/a/disable");
  CHECK(missing.status == 401);
  CHECK(missing.headers.at(0).first == "WWW-Authenticate");
  CHECK(f.post("/api/v1/tenants/a/disable", "", "Bearer wrong").status == 401);
  CHECK(f.post("/-/reload", "", "Bearer wrong").status == 401);
  CHECK(f.saved.empty());
  CHECK(f.post("/api/v1/tenants/a/disable", "", "Bearer s3cret").status == 200);
  CHECK(f.get("/api/v1/tenants").status == 200);  // reads need no token
  auto trusted = handle_admin(
      {.method = "POST", .target = "/api/v1/tenants/a/enable", .trusted = true}, f.context);
  CHECK(trusted.status == 200);
}

TEST_CASE("the tenant list shows traffic totals, rejections and per-replica limits", "[admin]") {
  Fixture f;
  f.config->limits.replicas = 2;
  f.config->limits.defaults.metrics.samples_per_second = 1000;
  auto& traffic = f.tenants.of("cluster-b");
  traffic.requests = 3;
  traffic.samples = 300;
  traffic.rejected[static_cast<std::size_t>(common::RejectReason::kRateLimited)] = 2;
  auto entry = f.tenant_entry("cluster-b");
  REQUIRE(entry != nullptr);
  CHECK(entry["enabled"] == true);
  CHECK(entry["totals"]["requests"] == 3);
  CHECK(entry["totals"]["samples"] == 300);
  CHECK(entry["totals"]["rejected"]["rate_limited"] == 2);
  CHECK(entry["limits"]["metrics"]["samples_per_second"] == 500);
}

TEST_CASE("reload reports success as text and failure as a 500 with the reason", "[admin]") {
  Fixture f;
  CHECK(f.post("/-/reload").body == "configuration reloaded\n");
  f.context.reload = [] { return std::string("gw.yaml:3:1: unknown key \"x\""); };
  auto r = f.post("/-/reload");
  CHECK(r.status == 500);
  CHECK(r.body == "reload failed: gw.yaml:3:1: unknown key \"x\"\n");
}

TEST_CASE("status summarises readiness, reload state and tenants", "[admin]") {
  Fixture f;
  f.status.listening = true;
  f.tenants.of("cluster-a");
  REQUIRE(f.post("/api/v1/tenants/cluster-b/disable").status == 200);
  auto r = f.get("/api/v1/status");
  REQUIRE(r.status == 200);
  auto s = json::parse(r.body);
  CHECK(s["ready"] == true);
  CHECK(s["draining"] == false);
  CHECK(s["tenants_seen"] == 1);
  CHECK(s["tenants_disabled"] == 1);
  CHECK(s.contains("version"));
  CHECK(s.contains("certificates"));
}

}  // namespace
}  // namespace mla::admin
