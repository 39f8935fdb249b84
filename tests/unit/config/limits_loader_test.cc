#include "gateway/config/limits_loader.h"

#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include "gateway/config/loader.h"
#include "tests/unit/config/config_cases.h"

namespace mla::config {
namespace {

using ratelimit::kMiBytes;
using ratelimit::LimitsConfig;
using ratelimit::TenantLimits;
using testing::check_error;
using testing::ErrorCase;
using testing::kBase;

// kBase plus a `limits:` section starting at line 6; `body` holds its indented lines.
std::string with_limits(const std::string& body) { return kBase + "limits:\n" + body; }

LimitsConfig load_limits(const std::string& body) {
  return load_config_string(with_limits(body), "gw.yaml", false).limits;
}

TEST_CASE("limits: absent or empty section gives the documented defaults", "[config][limits]") {
  for (const std::string& yaml :
       {kBase, with_limits(""), with_limits("  defaults:\n"),
        with_limits("  defaults:\n    metrics: {}\n    logs:\n    queries: {}\n")}) {
    INFO("yaml:\n" << yaml);
    const LimitsConfig limits = load_config_string(yaml, "gw.yaml", false).limits;
    CHECK(limits == LimitsConfig{});
    CHECK(limits.replicas == 1);
    CHECK(limits.limited_status == 429);
    CHECK(limits.disabled_status == 503);
    CHECK(limits.defaults.metrics.samples_per_second == 25000);
    CHECK(limits.defaults.metrics.burst_samples == 50000);
    CHECK(limits.defaults.metrics.bytes_per_second == 0);
    CHECK(limits.defaults.logs.bytes_per_second == 4 * kMiBytes);
    CHECK(limits.defaults.logs.burst_bytes == 6 * kMiBytes);
    CHECK(limits.defaults.queries.requests_per_second == 0);
    CHECK(limits.overrides.empty());
  }
}

TEST_CASE("limits: scalar values are read into their fields", "[config][limits]") {
  struct Case {
    std::string body;  // lines under `limits:`
    std::function<double(const LimitsConfig&)> get;
    double want;
  };
  const std::vector<Case> cases = {
      {"  replicas: 3\n", [](const LimitsConfig& l) { return l.replicas; }, 3},
      {"  limited_status: 503\n", [](const LimitsConfig& l) { return l.limited_status; }, 503},
      {"  disabled_status: 404\n", [](const LimitsConfig& l) { return l.disabled_status; }, 404},
      {"  disabled_status: 599\n", [](const LimitsConfig& l) { return l.disabled_status; }, 599},
      {"  defaults: {metrics: {requests_per_second: 10}}\n",
       [](const LimitsConfig& l) { return l.defaults.metrics.requests_per_second; }, 10},
      {"  defaults: {metrics: {burst_requests: 0.5}}\n",
       [](const LimitsConfig& l) { return l.defaults.metrics.burst_requests; }, 0.5},
      {"  defaults: {metrics: {samples_per_second: 1e5}}\n",
       [](const LimitsConfig& l) { return l.defaults.metrics.samples_per_second; }, 100000},
      {"  defaults: {metrics: {burst_samples: \"7\"}}\n",
       [](const LimitsConfig& l) { return l.defaults.metrics.burst_samples; }, 7},
      {"  defaults: {logs: {requests_per_second: 2.25}}\n",
       [](const LimitsConfig& l) { return l.defaults.logs.requests_per_second; }, 2.25},
      {"  defaults: {logs: {burst_requests: 4}}\n",
       [](const LimitsConfig& l) { return l.defaults.logs.burst_requests; }, 4},
      {"  defaults: {logs: {lines_per_second: 1000}}\n",
       [](const LimitsConfig& l) { return l.defaults.logs.lines_per_second; }, 1000},
      {"  defaults: {logs: {burst_lines: 2000}}\n",
       [](const LimitsConfig& l) { return l.defaults.logs.burst_lines; }, 2000},
      {"  defaults: {queries: {requests_per_second: 0}}\n",
       [](const LimitsConfig& l) { return l.defaults.queries.requests_per_second; }, 0},
      {"  defaults: {queries: {burst_requests: 40}}\n",
       [](const LimitsConfig& l) { return l.defaults.queries.burst_requests; }, 40},
  };
  for (const auto& c : cases) {
    INFO("limits:\n" << c.body);
    CHECK(c.get(load_limits(c.body)) == c.want);
  }
}

TEST_CASE("limits: byte keys take sizes as well as numbers", "[config][limits]") {
  struct Key {
    std::string section;
    std::string key;
    std::function<double(const LimitsConfig&)> get;
  };
  const std::vector<Key> keys = {
      {"metrics", "bytes_per_second",
       [](const LimitsConfig& l) { return l.defaults.metrics.bytes_per_second; }},
      {"metrics", "burst_bytes",
       [](const LimitsConfig& l) { return l.defaults.metrics.burst_bytes; }},
      {"logs", "bytes_per_second",
       [](const LimitsConfig& l) { return l.defaults.logs.bytes_per_second; }},
      {"logs", "burst_bytes", [](const LimitsConfig& l) { return l.defaults.logs.burst_bytes; }},
  };
  struct Value {
    std::string text;
    double want;
  };
  const std::vector<Value> values = {
      {"4MiB", 4 * kMiBytes}, {"512KiB", 512 * 1024.0}, {"4MB", 4e6}, {"1GiB", 1024 * kMiBytes},
      {"1024", 1024},         {"1024B", 1024},          {"0", 0},     {"1.5e6", 1.5e6},
      {"0.5", 0.5},
  };
  for (const auto& k : keys) {
    for (const auto& v : values) {
      std::string body = "  defaults: {" + k.section + ": {" + k.key + ": " + v.text + "}}\n";
      INFO("limits:\n" << body);
      CHECK(k.get(load_limits(body)) == v.want);
    }
  }
}

TEST_CASE("limits: an override starts from the parsed defaults and applies its keys",
          "[config][limits]") {
  // Overrides come first in the document: they still build on the defaults below them.
  const LimitsConfig limits = load_limits(
      "  overrides:\n"
      "    cluster-abc:\n"
      "      metrics: {samples_per_second: 100000}\n"
      "    team.b: {logs: {burst_bytes: 8MiB}, queries: {requests_per_second: 5}}\n"
      "    same-as-defaults:\n"
      "  defaults:\n"
      "    metrics: {samples_per_second: 1000, burst_samples: 3000, requests_per_second: 9}\n"
      "    logs: {bytes_per_second: 2MiB}\n");
  TenantLimits defaults;
  defaults.metrics.samples_per_second = 1000;
  defaults.metrics.burst_samples = 3000;
  defaults.metrics.requests_per_second = 9;
  defaults.logs.bytes_per_second = 2 * kMiBytes;
  CHECK(limits.defaults == defaults);
  REQUIRE(limits.overrides.size() == 3);

  TenantLimits abc = defaults;
  abc.metrics.samples_per_second = 100000;
  CHECK(limits.limits_for("cluster-abc") == abc);
  CHECK(limits.limits_for("cluster-abc").metrics.burst_samples == 3000);  // parsed default kept

  TenantLimits b = defaults;
  b.logs.burst_bytes = 8 * kMiBytes;
  b.queries.requests_per_second = 5;
  CHECK(limits.limits_for("team.b") == b);

  CHECK(limits.limits_for("same-as-defaults") == defaults);
  CHECK(&limits.limits_for("not-overridden") == &limits.defaults);
}

TEST_CASE("limits: bad values name the key path and line:column", "[config][limits]") {
  const std::vector<ErrorCase> cases = {
      // Statuses and replicas.
      {"limited_status 500", with_limits("  limited_status: 500\n"), "7:19",
       "limits.limited_status", "must be 429 or 503, got 500"},
      {"limited_status 200", with_limits("  limited_status: 200\n"), "7:19",
       "limits.limited_status", "must be 429 or 503"},
      {"limited_status text", with_limits("  limited_status: too_many\n"), "7:19",
       "limits.limited_status", "invalid unsigned integer \"too_many\""},
      {"disabled_status 302", with_limits("  disabled_status: 302\n"), "7:20",
       "limits.disabled_status", "must be an HTTP error status (400-599), got 302"},
      {"disabled_status 600", with_limits("  disabled_status: 600\n"), "7:20",
       "limits.disabled_status", "got 600"},
      {"replicas 0", with_limits("  replicas: 0\n"), "7:13", "limits.replicas",
       "must be at least 1"},
      {"replicas negative", with_limits("  replicas: -2\n"), "7:13", "limits.replicas",
       "invalid unsigned integer \"-2\""},
      // Unknown keys and shapes.
      {"unknown key in limits", with_limits("  replica: 2\n"), "7:3", "limits.replica",
       "unknown key \"replica\" (known keys here: replicas, limited_status,"},
      {"unknown key inside metrics",
       with_limits("  defaults:\n    metrics: {samples_per_second: 1, sample_burst: 2}\n"), "8:38",
       "limits.defaults.metrics.sample_burst",
       "unknown key \"sample_burst\" (known keys here: requests_per_second, burst_requests, "
       "samples_per_second, burst_samples, bytes_per_second, burst_bytes)"},
      {"metrics key inside logs", with_limits("  defaults:\n    logs: {samples_per_second: 1}\n"),
       "8:12", "limits.defaults.logs.samples_per_second", "unknown key"},
      {"unknown section in defaults", with_limits("  defaults:\n    traces: {}\n"), "8:5",
       "limits.defaults.traces",
       "unknown key \"traces\" (known keys here: metrics, logs, queries)"},
      {"unknown key inside an override",
       with_limits("  overrides:\n    abc:\n      queries: {rps: 1}\n"), "9:17",
       "limits.overrides.abc.queries.rps", "unknown key \"rps\""},
      {"limits is a list", with_limits("  - replicas: 1\n"), "7:3", "limits",
       "want a map, got a list"},
      {"defaults is a scalar", with_limits("  defaults: none\n"), "7:13", "limits.defaults",
       "want a map, got scalar \"none\""},
      {"rate is a map", with_limits("  defaults: {queries: {requests_per_second: {n: 1}}}\n"),
       "7:45", "limits.defaults.queries.requests_per_second", "want a number, got a map"},
      // Numbers and sizes.
      {"negative rate", with_limits("  defaults:\n    metrics: {samples_per_second: -1}\n"), "8:35",
       "limits.defaults.metrics.samples_per_second", "must not be negative, got -1"},
      {"negative zero", with_limits("  defaults:\n    logs: {lines_per_second: -0}\n"), "8:30",
       "limits.defaults.logs.lines_per_second", "must not be negative"},
      {"negative bytes", with_limits("  defaults:\n    logs: {burst_bytes: -1}\n"), "8:25",
       "limits.defaults.logs.burst_bytes", "must not be negative, got -1"},
      {"rate is text", with_limits("  defaults:\n    logs: {lines_per_second: fast}\n"), "8:30",
       "limits.defaults.logs.lines_per_second",
       "invalid number \"fast\" (want a number >= 0, e.g. 25000 or 0.5)"},
      {"rate is infinite", with_limits("  defaults:\n    logs: {lines_per_second: inf}\n"), "8:30",
       "limits.defaults.logs.lines_per_second", "invalid number \"inf\""},
      {"rate is NaN", with_limits("  defaults:\n    logs: {lines_per_second: nan}\n"), "8:30",
       "limits.defaults.logs.lines_per_second", "invalid number \"nan\""},
      {"rate with a size unit", with_limits("  defaults:\n    logs: {lines_per_second: 4MiB}\n"),
       "8:30", "limits.defaults.logs.lines_per_second", "invalid number \"4MiB\""},
      {"bad size", with_limits("  defaults:\n    metrics: {bytes_per_second: 4 MiB}\n"), "8:33",
       "limits.defaults.metrics.bytes_per_second",
       "invalid size \"4 MiB\" (want a size or a number of bytes, e.g. 4MiB, 1048576)"},
      {"fractional size", with_limits("  defaults:\n    metrics: {burst_bytes: 1.5MiB}\n"), "8:28",
       "limits.defaults.metrics.burst_bytes", "invalid size \"1.5MiB\""},
      {"negative in an override",
       with_limits("  overrides:\n    abc: {metrics: {burst_samples: -5}}\n"), "8:36",
       "limits.overrides.abc.metrics.burst_samples", "must not be negative"},
      // Override tenant IDs (reported at the ID).
      {"override tenant with a slash",
       with_limits("  overrides:\n    \"a/b\": {metrics: {samples_per_second: 1}}\n"), "8:5",
       "limits.overrides.a/b", "invalid tenant ID \"a/b\" (want 1-150 characters"},
      {"override tenant is dot-dot", with_limits("  overrides:\n    \"..\": {}\n"), "8:5",
       "limits.overrides...", "invalid tenant ID \"..\""},
      {"override tenant too long",
       with_limits("  overrides:\n    " + std::string(151, 'x') + ": {}\n"), "8:5",
       "limits.overrides." + std::string(151, 'x'), "invalid tenant ID"},
      {"duplicate override", with_limits("  overrides:\n    abc: {}\n    abc: {}\n"), "9:5",
       "limits.overrides.abc", "duplicate key"},
      {"overrides is a list", with_limits("  overrides: [abc]\n"), "7:14", "limits.overrides",
       "want a map of tenant ID -> limits, got a list"},
      {"override is a scalar", with_limits("  overrides:\n    abc: 5\n"), "8:5",
       "limits.overrides.abc", "want a map, got scalar \"5\""},
  };
  for (const auto& c : cases) check_error(c);
}

}  // namespace
}  // namespace mla::config

namespace mla::config {
namespace {

TEST_CASE("limits: replicas_from_dns keys are read, with their defaults", "[config][limits]") {
  const LimitsConfig defaults = load_limits("");
  CHECK(defaults.replicas_from_dns.empty());
  CHECK(defaults.replicas_dns_interval == std::chrono::seconds(15));
  CHECK(defaults.replicas_dns_server.empty());

  const LimitsConfig both = load_limits(
      "  replicas: 3\n"
      "  replicas_from_dns: mla-gateway-headless.cluster-abc.svc.cluster.local.\n"
      "  replicas_dns_interval: 250ms\n"
      "  replicas_dns_server: \"127.0.0.1:5353\"\n");
  CHECK(both.replicas == 3);  // kept: the fallback until a lookup succeeded
  CHECK(both.replicas_from_dns == "mla-gateway-headless.cluster-abc.svc.cluster.local.");
  CHECK(both.replicas_dns_interval == std::chrono::milliseconds(250));
  CHECK(both.replicas_dns_server == "127.0.0.1:5353");

  for (const std::string server : {"10.0.0.10", "[::1]:53", "[fd00::a]", "127.0.0.1:65535"}) {
    INFO("server " << server);
    CHECK(load_limits("  replicas_from_dns: gw\n  replicas_dns_server: \"" + server + "\"\n")
              .replicas_dns_server == server);
  }
}

TEST_CASE("limits: bad replicas_from_dns values name the key path and line:column",
          "[config][limits]") {
  const std::vector<ErrorCase> cases = {
      {"name with a space", with_limits("  replicas_from_dns: \"a b\"\n"), "7:22",
       "limits.replicas_from_dns", "invalid DNS name \"a b\""},
      {"empty label", with_limits("  replicas_from_dns: a..b\n"), "7:22",
       "limits.replicas_from_dns", "invalid DNS name \"a..b\""},
      {"label over 63", with_limits("  replicas_from_dns: " + std::string(64, 'a') + "\n"), "7:22",
       "limits.replicas_from_dns", "invalid DNS name"},
      {"name is a map", with_limits("  replicas_from_dns: {a: 1}\n"), "7:22",
       "limits.replicas_from_dns", "want a string, got a map"},
      {"interval not a duration", with_limits("  replicas_dns_interval: often\n"), "7:26",
       "limits.replicas_dns_interval", "invalid duration \"often\""},
      {"interval too short", with_limits("  replicas_dns_interval: 10ms\n"), "7:26",
       "limits.replicas_dns_interval", "must be at least 100ms"},
      {"server is a host name",
       with_limits("  replicas_from_dns: gw\n  replicas_dns_server: kube-dns:53\n"), "8:24",
       "limits.replicas_dns_server", "invalid DNS server \"kube-dns:53\""},
      {"server port 0", with_limits("  replicas_from_dns: gw\n  replicas_dns_server: 1.2.3.4:0\n"),
       "8:24", "limits.replicas_dns_server", "invalid DNS server \"1.2.3.4:0\""},
      {"server v6 without brackets",
       with_limits("  replicas_from_dns: gw\n  replicas_dns_server: \"::1:53\"\n"), "8:24",
       "limits.replicas_dns_server", "want ip:port or [ipv6]:port"},
      {"server without a name", with_limits("  replicas_dns_server: \"127.0.0.1:53\"\n"), "7:24",
       "limits.replicas_dns_server", "set limits.replicas_from_dns too"},
      {"unknown key next to them", with_limits("  replicas_from_dsn: gw\n"), "7:3",
       "limits.replicas_from_dsn", "replicas_from_dns, replicas_dns_interval, replicas_dns_server"},
  };
  for (const auto& c : cases) check_error(c);
}

}  // namespace
}  // namespace mla::config
