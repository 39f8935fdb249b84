#include "gateway/ctl/commands.h"

#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace mla::ctl {
namespace {

// A transport that records the requests and answers with a canned answer (or throws).
struct FakeGateway {
  ControlAnswer answer{200, "OK", "application/json", "{}"};
  std::optional<std::string> unreachable;  // throw UnreachableError with this text
  std::vector<ControlRequest> requests;

  Transport transport() {
    return [this](const ControlRequest& request) {
      requests.push_back(request);
      if (unreachable) throw UnreachableError(*unreachable);
      return answer;
    };
  }
};

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

// Commands as main() builds them.
Command command(Action action, std::string tenant = "",
                std::optional<std::string> reason = std::nullopt,
                std::optional<std::string> duration = std::nullopt) {
  Command c;
  c.action = action;
  c.tenant = std::move(tenant);
  c.reason = std::move(reason);
  c.duration = std::move(duration);
  return c;
}

Command json_list() {
  Command c = command(Action::kTenantsList);
  c.json_output = true;
  return c;
}

Outcome run(const Command& c, FakeGateway& gateway) {
  std::ostringstream out;
  std::ostringstream err;
  int code = run_command(c, gateway.transport(), out, err);
  return {code, out.str(), err.str()};
}

constexpr const char* kDisabledEntry =
    R"({"tenant": "cluster-a", "enabled": false, "disabled_reason": "abuse",
        "disabled_since": "2026-11-25T19:00:00Z", "disabled_until": "2026-11-25T20:00:00Z"})";

TEST_CASE("each command sends its method, path and body", "[ctl]") {
  struct Case {
    Command command;
    ControlRequest want;
  };
  const std::vector<Case> cases = {
      {command(Action::kTenantsList), {"GET", "/api/v1/tenants", ""}},
      {json_list(), {"GET", "/api/v1/tenants", ""}},
      {command(Action::kTenantsDisable, "cluster-a"),
       {"POST", "/api/v1/tenants/cluster-a/disable", ""}},
      {command(Action::kTenantsDisable, "it's(x)", "abuse", "1h"),
       {"POST", "/api/v1/tenants/it%27s%28x%29/disable", R"({"reason":"abuse","duration":"1h"})"}},
      {command(Action::kTenantsEnable, "a*b"), {"POST", "/api/v1/tenants/a%2Ab/enable", ""}},
      {command(Action::kReload), {"POST", "/-/reload", ""}},
      {command(Action::kStatus), {"GET", "/api/v1/status", ""}},
  };
  for (const auto& c : cases) {
    auto got = request_for(c.command);
    INFO("target: " << got.target);
    CHECK(got.method == c.want.method);
    CHECK(got.target == c.want.target);
    CHECK(got.body == c.want.body);
  }
}

TEST_CASE("disable prints one line from the server's entry and exits 0", "[ctl]") {
  FakeGateway gateway;
  gateway.answer.body = kDisabledEntry;
  auto r = run(command(Action::kTenantsDisable, "cluster-a", "abuse", "1h"), gateway);
  CHECK(r.code == kExitOk);
  CHECK(r.out == "tenant cluster-a disabled (reason: abuse, until 2026-11-25T20:00:00Z)\n");
  CHECK(r.err.empty());
  REQUIRE(gateway.requests.size() == 1);
}

TEST_CASE("tenants list -o json prints the server's JSON indented, keys in its order", "[ctl]") {
  FakeGateway gateway;
  gateway.answer.body = R"({"tenants":[{"tenant":"b","enabled":true,"a":1}]})";
  auto r = run(json_list(), gateway);
  CHECK(r.code == kExitOk);
  CHECK(r.out ==
        "{\n  \"tenants\": [\n    {\n      \"tenant\": \"b\",\n      \"enabled\": true,\n"
        "      \"a\": 1\n    }\n  ]\n}\n");
}

TEST_CASE("reload prints the server's text", "[ctl]") {
  FakeGateway gateway;
  gateway.answer = {200, "OK", "text/plain", "configuration reloaded\n"};
  auto r = run(command(Action::kReload), gateway);
  CHECK(r.code == kExitOk);
  CHECK(r.out == "configuration reloaded\n");
}

TEST_CASE("an error answer exits 1 with 'mla-gatewayctl: <status>: <message>'", "[ctl]") {
  FakeGateway gateway;
  gateway.answer = {400, "Bad Request", "application/json", R"({"error": "invalid tenant id"})"};
  auto r = run(command(Action::kTenantsDisable, "a b"), gateway);
  CHECK(r.code == kExitGatewayError);
  CHECK(r.out.empty());
  CHECK(r.err == "mla-gatewayctl: 400: invalid tenant id\n");

  gateway.answer = {500, "Internal Server Error", "text/plain", "reload failed: bad yaml\n"};
  r = run(command(Action::kReload), gateway);
  CHECK(r.code == kExitGatewayError);
  CHECK(r.err == "mla-gatewayctl: 500: reload failed: bad yaml\n");
}

TEST_CASE("an unreachable gateway exits 3 with the transport's message", "[ctl]") {
  FakeGateway gateway;
  gateway.unreachable = "cannot connect to /x.sock: No such file or directory";
  auto r = run(command(Action::kStatus), gateway);
  CHECK(r.code == kExitUnreachable);
  CHECK(r.err == "mla-gatewayctl: cannot connect to /x.sock: No such file or directory\n");
}

TEST_CASE("a 2xx answer that is not the expected JSON exits 3", "[ctl]") {
  struct Case {
    Command command;
    std::string body;
  };
  const std::vector<Case> cases = {
      {command(Action::kTenantsList), "not json"},
      {command(Action::kTenantsList), R"({"tenant": []})"},
      {json_list(), ""},
      {command(Action::kStatus), "[]"},
      {command(Action::kTenantsEnable, "x"), "{}"},
  };
  for (const auto& c : cases) {
    INFO("body: " << c.body);
    FakeGateway gateway;
    gateway.answer.body = c.body;
    auto r = run(c.command, gateway);
    CHECK(r.code == kExitUnreachable);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::StartsWith("mla-gatewayctl: malformed answer from the gateway"));
  }
}

}  // namespace
}  // namespace mla::ctl
