#include "gateway/ctl/tenant_table.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "gateway/ctl/api_request.h"

namespace mla::ctl {
namespace {

// One /api/v1/tenants entry as admin-api-contract.md shows it.
Json tenant_entry(const std::string& name, bool enabled, double samples_per_second) {
  return Json::parse(R"({
    "tenant": ")" + name +
                     R"(", "enabled": )" + (enabled ? "true" : "false") + R"(,
    "disabled_reason": "", "disabled_since": null, "disabled_until": null,
    "limits": {"metrics": {"requests_per_second": 0, "samples_per_second": 25000,
                           "burst_samples": 50000, "bytes_per_second": 0},
               "logs": {"requests_per_second": 0, "lines_per_second": 0,
                        "bytes_per_second": 4194304, "burst_bytes": 6291456}},
    "rates": {"requests_per_second": 1.5, "samples_per_second": )" +
                     std::to_string(samples_per_second) + R"(,
              "log_lines_per_second": 0.0, "log_bytes_per_second": 0.0},
    "totals": {"requests": 10, "samples": 1000, "log_lines": 0, "log_bytes": 0, "bytes": 12345,
               "rejected": {"rate_limited": 1, "disabled": 2, "too_large": 0, "bad_request": 0,
                            "forbidden": 0, "unsupported_media_type": 0}}})");
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    REQUIRE(end != std::string::npos);  // every line ends with '\n'
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

TEST_CASE("tenant table: one aligned row per tenant under a header", "[ctl]") {
  Json answer = {{"tenants", Json::array()}};
  answer["tenants"].push_back(tenant_entry("cluster-a", true, 100));
  Json disabled = tenant_entry("cluster-long-name-b", false, 0);
  disabled["disabled_reason"] = "abuse";
  disabled["disabled_until"] = "2026-11-25T20:00:00Z";
  answer["tenants"].push_back(disabled);

  CHECK(render_tenant_table(answer) ==
        "TENANT               ENABLED  REASON  UNTIL                 REQ/S  SAMPLES/S  LINES/S  "
        "LOG-BYTES/S  REJECTED\n"
        "cluster-a            yes      -       -                       1.5      100.0      0.0  "
        "         0B         3\n"
        "cluster-long-name-b  no       abuse   2026-11-25T20:00:00Z    1.5        0.0      0.0  "
        "         0B         3\n");
}

TEST_CASE("tenant table: an empty list is the header alone", "[ctl]") {
  auto text = render_tenant_table(Json::parse(R"({"tenants": []})"));
  CHECK(text ==
        "TENANT  ENABLED  REASON  UNTIL  REQ/S  SAMPLES/S  LINES/S  LOG-BYTES/S  REJECTED\n");
}

TEST_CASE("tenant table: disabled without an end shows 'indefinite', no reason '-'", "[ctl]") {
  Json entry = tenant_entry("t", false, 0);
  auto lines = lines_of(render_tenant_table({{"tenants", {entry}}}));
  REQUIRE(lines.size() == 2);
  CHECK(lines[1].starts_with("t       no       -       indefinite  "));
}

TEST_CASE("tenant table: log bytes per second get a binary unit", "[ctl]") {
  struct Case {
    double bytes;
    std::string cell;
  };
  const std::vector<Case> cases = {
      {0, "0B"},
      {1023, "1023B"},
      {1024, "1.0KiB"},
      {1536, "1.5KiB"},
      {4194304, "4.0MiB"},
      {3.0 * (1ULL << 30), "3.0GiB"},
      {1ULL << 50, "1024.0TiB"},
  };
  for (const auto& c : cases) {
    INFO("bytes/s: " << c.bytes);
    Json entry = tenant_entry("t", true, 0);
    entry["rates"]["log_bytes_per_second"] = c.bytes;
    auto lines = lines_of(render_tenant_table({{"tenants", {entry}}}));
    REQUIRE(lines.size() == 2);
    CHECK(lines[1].find("  " + c.cell + "  ") != std::string::npos);
  }
}

TEST_CASE("tenant table: long reasons are cut, line breaks in them become spaces", "[ctl]") {
  Json entry = tenant_entry("t", false, 0);
  entry["disabled_reason"] = "line one\nline two " + std::string(40, 'x');
  auto lines = lines_of(render_tenant_table({{"tenants", {entry}}}));
  REQUIRE(lines.size() == 2);
  CHECK(lines[1].find("line one line two xxxxxxxxxxx...  ") != std::string::npos);
}

TEST_CASE("tenant table: alignment counts UTF-8 code points, not bytes", "[ctl]") {
  Json entry = tenant_entry("t", false, 0);
  entry["disabled_reason"] = "zu groß";  // 7 code points, 8 bytes
  auto lines = lines_of(render_tenant_table({{"tenants", {entry}}}));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].find("REASON   UNTIL") != std::string::npos);
  CHECK(lines[1].find("zu groß  indefinite") != std::string::npos);
}

TEST_CASE("tenant table: missing rates and totals show '-'", "[ctl]") {
  auto lines = lines_of(render_tenant_table(Json::parse(R"({"tenants": [{"tenant": "bare"}]})")));
  REQUIRE(lines.size() == 2);
  CHECK(lines[1] ==
        "bare    yes      -       -          -          -        -            -         -");
}

TEST_CASE("tenant table: an answer without a tenants array or a tenant name is refused", "[ctl]") {
  const std::vector<std::string> cases = {
      R"({})",
      R"({"tenants": {}})",
      R"({"tenants": [{"enabled": true}]})",
      R"({"tenants": [{"tenant": 5}]})",
      R"([])",
  };
  for (const auto& c : cases) {
    INFO("answer: " << c);
    CHECK_THROWS_AS(render_tenant_table(Json::parse(c)), nlohmann::json::exception);
  }
}

TEST_CASE("status: key: value lines in the server's order, nested values indented", "[ctl]") {
  auto answer = Json::parse(R"({"version": "0.1.0", "ready": true, "draining": false,
    "uptime_seconds": 12.5, "config_file": "/etc/mla-gateway/config.yaml",
    "config_last_reload_successful": true,
    "config_last_reload_success_time": "2026-11-25T19:00:00Z",
    "open_connections": 3, "tenants_seen": 2, "tenants_disabled": 1,
    "certificates": [{"file": "/etc/tls.crt", "not_after": "2027-11-25T00:00:00Z"}],
    "limits": {"replicas": 2}, "last_error": null, "listeners": []})");
  CHECK(render_status(answer) ==
        "version: 0.1.0\n"
        "ready: true\n"
        "draining: false\n"
        "uptime_seconds: 12.5\n"
        "config_file: /etc/mla-gateway/config.yaml\n"
        "config_last_reload_successful: true\n"
        "config_last_reload_success_time: 2026-11-25T19:00:00Z\n"
        "open_connections: 3\n"
        "tenants_seen: 2\n"
        "tenants_disabled: 1\n"
        "certificates:\n"
        "  - file: /etc/tls.crt, not_after: 2027-11-25T00:00:00Z\n"
        "limits:\n"
        "  replicas: 2\n"
        "last_error: -\n"
        "listeners: -\n");
}

TEST_CASE("status: an answer that is not an object is refused", "[ctl]") {
  CHECK_THROWS_AS(render_status(Json::parse("[1, 2]")), nlohmann::json::exception);
  CHECK_THROWS_AS(render_status(Json::parse("\"ok\"")), nlohmann::json::exception);
}

TEST_CASE("tenant change: one line with reason and end when the server gives them", "[ctl]") {
  Json entry = tenant_entry("cluster-a", false, 0);
  CHECK(describe_tenant_change(entry) == "tenant cluster-a disabled (indefinitely)");
  entry["disabled_reason"] = "abuse";
  CHECK(describe_tenant_change(entry) == "tenant cluster-a disabled (reason: abuse, indefinitely)");
  entry["disabled_until"] = "2026-11-25T20:00:00Z";
  CHECK(describe_tenant_change(entry) ==
        "tenant cluster-a disabled (reason: abuse, until 2026-11-25T20:00:00Z)");
  entry["disabled_reason"] = "";
  CHECK(describe_tenant_change(entry) == "tenant cluster-a disabled (until 2026-11-25T20:00:00Z)");
  CHECK(describe_tenant_change(tenant_entry("cluster-a", true, 0)) == "tenant cluster-a enabled");
  CHECK_THROWS_AS(describe_tenant_change(Json::parse(R"({"tenant": "x"})")),
                  nlohmann::json::exception);
}

TEST_CASE("percent_encode keeps unreserved characters and encodes every other byte", "[ctl]") {
  struct Case {
    std::string in;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"cluster-a", "cluster-a"},
      {"A.b_c~9", "A.b_c~9"},
      {"", ""},
      {"!*'()", "%21%2A%27%28%29"},  // valid in tenant IDs, reserved in URIs
      {"a/b", "a%2Fb"},
      {"..", ".."},
      {"a b%c", "a%20b%25c"},
      {"?#&=+", "%3F%23%26%3D%2B"},
      {"ß", "%C3%9F"},
      {std::string("\0\n\x7f\xff", 4), "%00%0A%7F%FF"},
  };
  for (const auto& c : cases) {
    INFO("input: " << c.in);
    CHECK(percent_encode(c.in) == c.want);
  }
}

TEST_CASE("tenant_action_path encodes the tenant as one path segment", "[ctl]") {
  CHECK(tenant_action_path("cluster-a", "disable") == "/api/v1/tenants/cluster-a/disable");
  CHECK(tenant_action_path("a(b)/c", "enable") == "/api/v1/tenants/a%28b%29%2Fc/enable");
}

TEST_CASE("disable_body leaves absent fields out, and is empty without any", "[ctl]") {
  CHECK(disable_body(std::nullopt, std::nullopt).empty());
  CHECK(disable_body("abuse", std::nullopt) == R"({"reason":"abuse"})");
  CHECK(disable_body(std::nullopt, "1h") == R"({"duration":"1h"})");
  CHECK(disable_body("say \"no\"", "30m") == R"({"reason":"say \"no\"","duration":"30m"})");
  CHECK(disable_body("", std::nullopt) == R"({"reason":""})");  // given, though empty
}

TEST_CASE("error_message takes JSON error, else text body, else reason; one line", "[ctl]") {
  struct Case {
    std::string body;
    std::string reason;
    std::string want;
  };
  const std::vector<Case> cases = {
      {R"({"error": "invalid tenant id \"a b\""})", "Bad Request", R"(invalid tenant id "a b")"},
      {"reload failed: routes[0].upstream: unknown upstream \"x\" (3:5)\n", "Internal Server Error",
       R"(reload failed: routes[0].upstream: unknown upstream "x" (3:5))"},
      {"two\nlines\n", "", "two lines"},
      {R"({"error": ""})", "Bad Request", R"({"error": ""})"},
      {R"({"message": "x"})", "Not Found", R"({"message": "x"})"},
      {"", "Not Found", "Not Found"},
      {"  \n", "", "no reason given"},
      {"\x1b[31mred\x1b[0m", "", " [31mred [0m"},
  };
  for (const auto& c : cases) {
    INFO("body: " << c.body);
    CHECK(error_message(c.body, c.reason) == c.want);
  }
}

}  // namespace
}  // namespace mla::ctl
