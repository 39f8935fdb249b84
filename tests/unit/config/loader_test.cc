#include "gateway/config/loader.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/unit/config/config_cases.h"

namespace mla::config {
namespace {

using Catch::Matchers::StartsWith;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::check_error;
using testing::ErrorCase;
using testing::kBase;
using testing::kRoutes;
using testing::kTls;
using testing::kUpstreams;
using testing::TempFiles;
// Line 1 of a config with an extra tls key appended: the next key starts at column 66.
const std::string kTlsOpen = "tls: {cert_file: c.crt, key_file: c.key, client_ca_file: ca.crt";
// Lines 2-3 of configs that vary the route list: "routes:" followed by route lines.
const std::string kRouteA = "  - {path: /a, kind: passthrough, upstream: cortex}\n";

TEST_CASE("unknown keys are errors at the key's position", "[config]") {
  const std::vector<ErrorCase> cases = {
      {"top-level typo", kBase + "servre: {}\n", "6:1", "servre", "unknown key \"servre\""},
      {"read", kBase + "read: {listen: \":8081\", tenant: a}\n", "6:25", "read.tenant",
       "unknown key \"tenant\""},
      {"server", kBase + "server:\n  listen: \":8443\"\n  thread: 2\n", "8:3", "server.thread",
       "unknown key \"thread\" (known keys here: listen, threads,"},
      {"tls", kTlsOpen + ", ca_file: ca.crt}\n" + kRoutes + kUpstreams, "1:66", "tls.ca_file",
       "unknown key"},
      {"tenant", kBase + "tenant:\n  src: fixed\n", "7:3", "tenant.src", "unknown key"},
      {"route",
       kTls + "routes:\n  - {path: /a, kind: passthrough, upstream: cortex, method: POST}\n" +
           kUpstreams,
       "3:53", "routes[0].method", "unknown key"},
      {"read route",
       kBase + "read:\n  routes:\n    - {path: /a, upstream: cortex, clients: [grafana]}\n", "8:36",
       "read.routes[0].clients", "unknown key \"clients\""},
      {"upstream", kTls + kRoutes + "upstreams:\n  cortex: {url: \"http://cortex\", retries: 3}\n",
       "5:34", "upstreams.cortex.retries", "unknown key"},
      {"upstream tls",
       kTls + kRoutes + "upstreams:\n  cortex: {url: \"https://cortex\", tls: {insecure: true}}\n",
       "5:41", "upstreams.cortex.tls.insecure", "unknown key"},
      {"duplicate key", kBase + "server:\n  threads: 1\n  threads: 2\n", "8:3", "server.threads",
       "duplicate key"},
      {"duplicate upstream",
       kTls + kRoutes +
           "upstreams:\n  cortex: {url: \"http://a\"}\n  cortex: {url: \"http://b\"}\n",
       "6:3", "upstreams.cortex", "duplicate key"},
  };
  for (const auto& c : cases) check_error(c);
}

TEST_CASE("values of the wrong type are errors at the value's position", "[config]") {
  const std::vector<ErrorCase> cases = {
      {"section is a scalar", kBase + "server: 8443\n", "6:9", "server", "want a map, got scalar"},
      {"uint is text", kBase + "server:\n  threads: abc\n", "7:12", "server.threads",
       "invalid unsigned integer \"abc\""},
      {"uint is negative", kBase + "server:\n  threads: -1\n", "7:12", "server.threads",
       "invalid unsigned integer \"-1\""},
      {"uint overflows unsigned", kBase + "server:\n  threads: 4294967296\n", "7:12",
       "server.threads", "invalid unsigned integer"},
      {"uint is a list", kBase + "server:\n  max_connections: [1]\n", "7:20",
       "server.max_connections", "want an unsigned integer, got a list"},
      {"uint is a map", kBase + "server:\n  threads: {n: 1}\n", "7:12", "server.threads",
       "got a map"},
      {"string is a map", kBase + "server:\n  listen: {host: x}\n", "7:11", "server.listen",
       "want a string, got a map"},
      {"bool is not a bool", kBase + "server:\n  http2: maybe\n", "7:10", "server.http2",
       "invalid boolean \"maybe\""},
      {"bool is empty", kBase + "server:\n  http2:\n", "7:3", "server.http2",
       "want true or false, got an empty value"},
      {"list is a scalar", kBase + "tenant:\n  allowed: abc\n", "7:12", "tenant.allowed",
       "want a list of strings"},
      {"list item is a map", kBase + "tenant:\n  allowed: [a, {b: c}]\n", "7:16",
       "tenant.allowed[1]", "want a string, got a map"},
      {"routes is a map", kTls + "routes: {path: /a}\n" + kUpstreams, "2:9", "routes",
       "want a list of routes"},
      {"route is a scalar", kTls + "routes:\n  - /api/v1/push\n" + kUpstreams, "3:5", "routes[0]",
       "want a map"},
      {"clients is a scalar",
       kTls + "routes:\n  - {path: /a, kind: passthrough, upstream: cortex, clients: agent}\n" +
           kUpstreams,
       "3:62", "routes[0].clients", "want a list of strings"},
      {"upstreams is a list", kTls + kRoutes + "upstreams: [cortex]\n", "4:12", "upstreams",
       "want a map"},
      {"upstream is a scalar", kTls + kRoutes + "upstreams:\n  cortex: http://cortex\n", "5:11",
       "upstreams.cortex", "want a map"},
      {"top level is a scalar", "hello\n", "1:1", "", "want a map at the top level"},
      {"top level is a list", "- a\n- b\n", "1:1", "", "want a map at the top level"},
  };
  for (const auto& c : cases) check_error(c);
}

TEST_CASE("server values are checked", "[config]") {
  const std::vector<ErrorCase> cases = {
      {"bad duration", kBase + "server:\n  idle_timeout: 5x\n", "7:17", "server.idle_timeout",
       "invalid duration \"5x\" (want e.g. 30s, 5m"},
      {"duration without unit", kBase + "server:\n  request_timeout: 30\n", "7:20",
       "server.request_timeout", "invalid duration \"30\""},
      {"zero duration", kBase + "server:\n  read_header_timeout: 0s\n", "7:24",
       "server.read_header_timeout", "must be greater than 0"},
      {"zero grace period", kBase + "server:\n  shutdown_grace_period: 0\n", "7:26",
       "server.shutdown_grace_period", "must be greater than 0"},
      {"bad size", kBase + "server:\n  max_request_body_bytes: 16 MB\n", "7:27",
       "server.max_request_body_bytes", "invalid size \"16 MB\" (want e.g."},
      {"negative size", kBase + "server:\n  max_request_body_bytes: -1\n", "7:27",
       "server.max_request_body_bytes", "invalid size"},
      {"zero size", kBase + "server:\n  max_request_body_bytes: 0\n", "7:27",
       "server.max_request_body_bytes", "must be greater than 0"},
      {"bad decompressed size", kBase + "server:\n  max_decompressed_bytes: 64M\n", "7:27",
       "server.max_decompressed_bytes", "invalid size \"64M\""},
      {"zero decompressed size", kBase + "server:\n  max_decompressed_bytes: 0\n", "7:27",
       "server.max_decompressed_bytes", "must be greater than 0"},
      {"zero connections", kBase + "server:\n  max_connections: 0\n", "7:20",
       "server.max_connections", "must be greater than 0"},
      {"http2 streams zero", kBase + "server:\n  http2_max_concurrent_streams: 0\n", "7:33",
       "server.http2_max_concurrent_streams", "must be greater than 0"},
      {"listen without port", kBase + "server:\n  listen: localhost\n", "7:11", "server.listen",
       "invalid listen address \"localhost\""},
      {"listen is empty", kBase + "server:\n  listen:\n", "7:3", "server.listen",
       "invalid listen address \"\""},
  };
  for (const auto& c : cases) check_error(c);
}

TEST_CASE("listen addresses parse into host and port", "[config]") {
  struct Case {
    std::string text;
    std::string host;
    std::uint16_t port;
  };
  const std::vector<Case> valid = {
      {"0.0.0.0:8443", "0.0.0.0", 8443}, {":9000", "0.0.0.0", 9000},
      {"[::1]:8443", "::1", 8443},       {"[::]:443", "::", 443},
      {"localhost:1", "localhost", 1},   {"gw-0.mla.svc:65535", "gw-0.mla.svc", 65535},
  };
  for (const auto& c : valid) {
    INFO("listen: " << c.text);
    Config config =
        load_config_string(kBase + "server: {listen: \"" + c.text + "\"}\n", "gw.yaml", false);
    CHECK(config.server.listen.host == c.host);
    CHECK(config.server.listen.port == c.port);
  }
  const std::vector<std::string> invalid = {"8443",       "::1:8443",   "[::1]8443", "host:0",
                                            "host:65536", "host:",      "[]:80",     "a b:80",
                                            "[::1:80",    "host:80:80", "[x]:80",    "host:http"};
  for (const auto& text : invalid) {
    check_error({"listen " + text, kBase + "server: {listen: \"" + text + "\"}\n", "6:18",
                 "server.listen", "invalid listen address"});
  }
}

TEST_CASE("tls values are checked", "[config]") {
  const std::vector<ErrorCase> cases = {
      {"no tls section", kRoutes + kUpstreams, "1:1", "tls.cert_file", "required"},
      {"missing cert_file points at the tls map",
       "tls: {key_file: c.key, client_ca_file: ca.crt}\n" + kRoutes + kUpstreams, "1:6",
       "tls.cert_file", "required"},
      {"missing client_ca_file in a block map",
       "tls:\n  cert_file: c.crt\n  key_file: c.key\n" + kRoutes + kUpstreams, "2:3",
       "tls.client_ca_file", "required"},
      {"empty key_file",
       "tls: {cert_file: c.crt, key_file: \"\", client_ca_file: ca.crt}\n" + kRoutes + kUpstreams,
       "1:35", "tls.key_file", "required"},
      {"bad min_version", kTlsOpen + ", min_version: TLS1.1}\n" + kRoutes + kUpstreams, "1:79",
       "tls.min_version", "invalid value \"TLS1.1\" (want one of: TLS1.2, TLS1.3)"},
      {"bad reload_interval", kTlsOpen + ", reload_interval: soon}\n" + kRoutes + kUpstreams,
       "1:83", "tls.reload_interval", "invalid duration \"soon\""},
      {"empty document", "", "1:1", "tls.cert_file", "required"},
  };
  for (const auto& c : cases) check_error(c);
}

TEST_CASE("tenant values are checked", "[config]") {
  const std::string too_long(151, 'a');
  const std::vector<ErrorCase> cases = {
      {"bad source", kBase + "tenant:\n  source: subject_dn\n", "7:11", "tenant.source",
       "invalid value \"subject_dn\" (want one of: fixed, subject_cn, san_dns, san_uri, "
       "subject_ou)"},
      {"pattern with no group", kBase + "tenant:\n  pattern: \"^cluster-[a-z0-9]+$\"\n", "7:12",
       "tenant.pattern", "must have exactly one capture group (the tenant), has 0"},
      {"pattern with two groups", kBase + "tenant:\n  pattern: \"^(cluster)-([a-z0-9]+)$\"\n",
       "7:12", "tenant.pattern", "has 2"},
      {"pattern does not compile", kBase + "tenant:\n  pattern: \"^cluster-([a-z0-9+$\"\n", "7:12",
       "tenant.pattern", "invalid RE2 pattern"},
      {"pattern uses a backreference", kBase + "tenant:\n  pattern: '^(a)\\1$'\n", "7:12",
       "tenant.pattern", "invalid RE2 pattern"},
      {"fixed source without tenant", kBase + "tenant:\n  source: fixed\n", "7:3", "tenant.fixed",
       "required when tenant.source is fixed"},
      {"fixed source with empty tenant", kBase + "tenant: {source: fixed, fixed: \"\"}\n", "6:32",
       "tenant.fixed", "required"},
      {"fixed tenant invalid", kBase + "tenant:\n  source: fixed\n  fixed: \"a/b\"\n", "8:10",
       "tenant.fixed", "invalid tenant ID \"a/b\""},
      {"fixed tenant is dot-dot", kBase + "tenant:\n  source: fixed\n  fixed: \"..\"\n", "8:10",
       "tenant.fixed", "invalid tenant ID"},
      {"fixed with pattern", kBase + "tenant:\n  source: fixed\n  fixed: a\n  pattern: \"(x)\"\n",
       "9:12", "tenant.pattern", "not used when tenant.source is fixed"},
      {"fixed not allowed", kBase + "tenant:\n  source: fixed\n  fixed: a\n  allowed: [b, c]\n",
       "8:10", "tenant.fixed", "tenant \"a\" is not in tenant.allowed"},
      {"allowed has dot-dot", kBase + "tenant:\n  allowed: [ok, \"..\", x]\n", "7:17",
       "tenant.allowed[1]", "invalid tenant ID \"..\""},
      {"allowed has a space", kBase + "tenant:\n  allowed: [\"a b\"]\n", "7:13",
       "tenant.allowed[0]", "invalid tenant ID"},
      {"allowed has an empty ID", kBase + "tenant:\n  allowed: [\"\"]\n", "7:13",
       "tenant.allowed[0]", "invalid tenant ID"},
      {"allowed ID too long", kBase + "tenant:\n  allowed: [" + too_long + "]\n", "7:13",
       "tenant.allowed[0]", "invalid tenant ID"},
      {"header with a space", kBase + "tenant:\n  header: \"X Scope\"\n", "7:11", "tenant.header",
       "invalid header name \"X Scope\""},
      {"empty header", kBase + "tenant:\n  header: \"\"\n", "7:11", "tenant.header",
       "invalid header name"},
  };
  for (const auto& c : cases) check_error(c);
}

TEST_CASE("tenant IDs follow the Cortex/Loki rules", "[config]") {
  const std::vector<std::string> valid = {"a",  "xyz7nq2k4v",         "A-Z_0.9", "!-_.*'()", "...",
                                          ".a", std::string(150, 'x')};
  for (const auto& id : valid) {
    INFO("tenant: " << id);
    CHECK_NOTHROW(load_config_string(kBase + "tenant: {source: fixed, fixed: \"" + id + "\"}\n",
                                     "gw.yaml", false));
  }
  const std::vector<std::string> invalid = {".",   "..",  "a/b", "a b",    "a|b",
                                            "a:b", "a#b", "ä",   "a\\\\b", std::string(151, 'x')};
  for (const auto& id : invalid) {
    check_error({"tenant " + id, kBase + "tenant: {source: fixed, fixed: \"" + id + "\"}\n", "6:32",
                 "tenant.fixed", "invalid tenant ID"});
  }
}

TEST_CASE("route values are checked", "[config]") {
  auto doc = [](const std::string& route_lines) {
    return kTls + "routes:\n" + route_lines + kUpstreams;
  };
  const std::vector<ErrorCase> cases = {
      {"no routes key", kTls + kUpstreams, "1:1", "routes", "at least one route is required"},
      {"empty routes", kTls + "routes: []\n" + kUpstreams, "2:9", "routes",
       "at least one route is required"},
      {"unknown upstream",
       doc(kRouteA + "  - {path: /b, kind: passthrough, upstream: cortex}\n" +
           "  - {path: /c, kind: passthrough, upstream: mimir}\n"),
       "5:45", "routes[2].upstream", "unknown upstream \"mimir\" (defined: cortex)"},
      {"missing upstream", doc("  - {path: /a, kind: passthrough}\n"), "3:5", "routes[0].upstream",
       "required"},
      {"both path and path_prefix",
       doc("  - {path: /a, path_prefix: /b, kind: passthrough, upstream: cortex}\n"), "3:29",
       "routes[0].path_prefix", "set either path or path_prefix, not both"},
      {"neither path nor path_prefix", doc("  - {kind: passthrough, upstream: cortex}\n"), "3:5",
       "routes[0]", "path or path_prefix is required"},
      {"path without slash", doc("  - {path: api, kind: passthrough, upstream: cortex}\n"), "3:12",
       "routes[0].path", "must start with '/'"},
      {"empty path_prefix", doc("  - {path_prefix: \"\", kind: passthrough, upstream: cortex}\n"),
       "3:19", "routes[0].path_prefix", "must start with '/'"},
      {"duplicate path", doc(kRouteA + kRouteA), "4:12", "routes[1].path",
       "\"/a\" is already used by routes[0]"},
      {"missing kind", doc("  - {path: /a, upstream: cortex}\n"), "3:5", "routes[0].kind",
       "required"},
      {"bad kind", doc("  - {path: /a, kind: remote_write, upstream: cortex}\n"), "3:22",
       "routes[0].kind", "invalid value \"remote_write\""},
      {"empty client name",
       doc("  - path: /a\n    kind: passthrough\n    upstream: cortex\n    clients: [a, \"\"]\n"),
       "6:18", "routes[0].clients[1]", "must not be empty"},
      {"scan is not a bool",
       doc("  - {path: /a, kind: passthrough, upstream: cortex, scan: maybe}\n"), "3:59",
       "routes[0].scan", "invalid boolean \"maybe\""},
  };
  for (const auto& c : cases) check_error(c);
}

TEST_CASE("upstream values are checked", "[config]") {
  auto doc = [](const std::string& upstream_lines) {
    return kTls + kRoutes + "upstreams:\n" + upstream_lines;
  };
  const std::vector<ErrorCase> cases = {
      {"no upstreams", kTls + kRoutes, "1:1", "upstreams", "at least one upstream is required"},
      {"missing url", doc("  cortex: {timeout: 5s}\n"), "5:11", "upstreams.cortex.url", "required"},
      {"tls with http", doc("  cortex: {url: \"http://cortex\", tls: {ca_file: ca.crt}}\n"), "5:39",
       "upstreams.cortex.tls", "only allowed with an https:// url"},
      {"cert without key", doc("  cortex: {url: \"https://cortex\", tls: {cert_file: c.crt}}\n"),
       "5:52", "upstreams.cortex.tls.cert_file", "cert_file and key_file must be set together"},
      {"key without cert", doc("  cortex: {url: \"https://cortex\", tls: {key_file: c.key}}\n"),
       "5:51", "upstreams.cortex.tls.key_file", "must be set together"},
      {"zero timeout", doc("  cortex: {url: \"http://cortex\", timeout: 0s}\n"), "5:43",
       "upstreams.cortex.timeout", "must be greater than 0"},
      {"bad connect_timeout", doc("  cortex: {url: \"http://cortex\", connect_timeout: 1x}\n"),
       "5:51", "upstreams.cortex.connect_timeout", "invalid duration \"1x\""},
      {"bad max_idle_connections",
       doc("  cortex: {url: \"http://cortex\", max_idle_connections: many}\n"), "5:56",
       "upstreams.cortex.max_idle_connections", "invalid unsigned integer \"many\""},
      // The error names the route's key path even when the route comes before the upstreams.
      {"upstream named in a route is missing", doc("  loki: {url: \"http://loki\"}\n"), "3:67",
       "routes[0].upstream", "unknown upstream \"cortex\" (defined: loki)"},
  };
  for (const auto& c : cases) check_error(c);

  const std::vector<std::string> bad_urls = {
      "ftp://cortex",    "cortex:8080",         "http://",          "http://:8080",
      "http://cortex:0", "http://cortex:65536", "http://cortex:",   "http://cortex:http",
      "http://u@cortex", "http://cortex/?x=1",  "http://cortex/#f", "http://cor tex",
      "http://[::1",     "http://[::1]x",       "HTTP//cortex",     "",
  };
  for (const auto& url : bad_urls) {
    check_error({"url " + url, doc("  cortex: {url: \"" + url + "\"}\n"), "5:17",
                 "upstreams.cortex.url", "invalid URL \"" + url + "\""});
  }
}

TEST_CASE("upstream URLs parse into scheme, host, port and base path", "[config]") {
  struct Case {
    std::string url;
    bool use_tls;
    std::string host;
    std::uint16_t port;
    std::string base_path;
  };
  const std::vector<Case> cases = {
      {"http://cortex:8080", false, "cortex", 8080, ""},
      {"http://cortex", false, "cortex", 80, ""},
      {"https://cortex", true, "cortex", 443, ""},
      {"http://cortex/", false, "cortex", 80, ""},
      {"http://cortex:8080/api/prom/", false, "cortex", 8080, "/api/prom"},
      {"https://10.0.0.1:9443/x", true, "10.0.0.1", 9443, "/x"},
      {"https://[::1]:9443/x/y", true, "::1", 9443, "/x/y"},
      {"http://[fd00::1]", false, "fd00::1", 80, ""},
  };
  for (const auto& c : cases) {
    INFO("url: " << c.url);
    Config config = load_config_string(
        kTls + kRoutes + "upstreams:\n  cortex: {url: \"" + c.url + "\"}\n", "gw.yaml", false);
    const UpstreamConfig& u = config.upstreams.at("cortex");
    CHECK(u.url == c.url);
    CHECK(u.use_tls == c.use_tls);
    CHECK(u.host == c.host);
    CHECK(u.port == c.port);
    CHECK(u.base_path == c.base_path);
  }
}

TEST_CASE("YAML syntax errors carry the parser's line:column", "[config]") {
  const std::vector<ErrorCase> cases = {
      {"unclosed flow sequence", "server:\n  listen: [a, b\n", "3:1", "",
       "invalid YAML: end of sequence flow not found"},
      {"bad indentation", "a: b\n c: d\n", "2:3", "", "invalid YAML: illegal map value"},
      {"two documents", kBase + "---\nserver: {}\n", "7:1", "",
       "only one YAML document is supported"},
  };
  for (const auto& c : cases) check_error(c);
  // Document markers around the one document are fine.
  CHECK_NOTHROW(load_config_string("---\n" + kBase + "---\n", "gw.yaml", false));
  CHECK_NOTHROW(load_config_string("---\n" + kBase + "...\n", "gw.yaml", false));
}

TEST_CASE("a minimal config gets the documented defaults", "[config]") {
  Config config = load_config_string(kBase, "gw.yaml", false);
  CHECK(config.source_file == "gw.yaml");
  CHECK(config.server.listen.host == "0.0.0.0");
  CHECK(config.server.listen.port == 8443);
  CHECK(config.server.threads == 0);
  CHECK(config.server.max_connections == 10000);
  CHECK(config.server.max_request_body_bytes == 16 * kMiB);
  CHECK(config.server.max_decompressed_bytes == 64 * kMiB);
  CHECK(config.server.read_header_timeout == seconds(10));
  CHECK(config.server.idle_timeout == seconds(120));
  CHECK(config.server.request_timeout == seconds(60));
  CHECK_FALSE(config.server.http2);
  CHECK(config.server.shutdown_grace_period == seconds(30));
  CHECK(config.tls.cert_file == "c.crt");
  CHECK(config.tls.crl_file.empty());
  CHECK(config.tls.min_version == TlsVersion::kTls12);
  CHECK(config.tls.reload_interval == seconds(60));
  CHECK(config.tenant.source == TenantSource::kSubjectCn);
  CHECK(config.tenant.header == "X-Scope-OrgID");
  REQUIRE(config.routes.size() == 1);
  CHECK(config.routes[0].path == "/api/v1/push");
  CHECK_FALSE(config.routes[0].is_prefix);
  CHECK(config.routes[0].kind == RouteKind::kPrometheusRemoteWrite);
  CHECK(config.routes[0].upstream == "cortex");
  CHECK(config.routes[0].clients.empty());
  CHECK(config.routes[0].scan);
  CHECK(config.limits == ratelimit::LimitsConfig{});
  const UpstreamConfig& u = config.upstreams.at("cortex");
  CHECK(u.name == "cortex");
  CHECK(u.timeout == seconds(30));
  CHECK(u.connect_timeout == seconds(5));
  CHECK(u.max_idle_connections == 64);
}

TEST_CASE("explicit values, empty sections and YAML booleans are read", "[config]") {
  Config config = load_config_string(kTls +
                                         "routes:\n"
                                         "  - {path: /a, kind: loki_push, upstream: cortex, "
                                         "scan: false}\n" +
                                         kUpstreams +
                                         "server:\n"
                                         "  threads: 3\n"
                                         "  http2: no\n"
                                         "  max_request_body_bytes: 512KiB\n"
                                         "  max_decompressed_bytes: 1GiB\n"
                                         "  idle_timeout: 1h30m\n"
                                         "tenant:\n"
                                         "limits:\n",
                                     "gw.yaml", false);
  CHECK(config.server.threads == 3);
  CHECK_FALSE(config.server.http2);
  CHECK(config.server.max_request_body_bytes == 512 * kKiB);
  CHECK(config.server.max_decompressed_bytes == 1024 * kMiB);
  REQUIRE(config.routes.size() == 1);
  CHECK_FALSE(config.routes[0].scan);
  CHECK(config.limits == ratelimit::LimitsConfig{});
  CHECK(config.server.idle_timeout == milliseconds(5'400'000));
  CHECK(config.tenant.source == TenantSource::kSubjectCn);
}

std::filesystem::path source_root() {
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path().parent_path();
}

TEST_CASE("the KKP per-cluster example loads", "[config]") {
  Config config = load_config_file((source_root() / "config" / "kkp-cluster.yaml").string(), false);
  CHECK(config.server.listen.host == "0.0.0.0");
  CHECK(config.server.listen.port == 8443);
  CHECK(config.server.max_request_body_bytes == 16 * kMiB);
  CHECK(config.server.max_decompressed_bytes == 64 * kMiB);
  CHECK_FALSE(config.server.http2);
  CHECK(config.tls.client_ca_file == "/etc/mla-gateway/tls/ca.crt");
  CHECK(config.tenant.source == TenantSource::kFixed);
  CHECK(config.tenant.fixed == "xyz7nq2k4v");
  REQUIRE(config.routes.size() == 3);
  CHECK(config.routes[2].path == "/loki/api/v1/push");
  CHECK(config.routes[2].kind == RouteKind::kLokiPush);
  CHECK(config.routes[2].upstream == "loki");
  REQUIRE(config.upstreams.size() == 7);
  CHECK(config.upstreams.at("cortex").host == "cortex-distributor.mla.svc.cluster.local");
  CHECK(config.upstreams.at("cortex").port == 8080);
  CHECK(config.upstreams.at("loki").port == 3100);
  // The example spells out the documented defaults.
  CHECK(config.limits == ratelimit::LimitsConfig{});
  // Kubermatic's read route table.
  REQUIRE(config.read.listen.has_value());
  CHECK(config.read.listen->port == 8081);
  CHECK(config.read.tenant_from == ReadTenantFrom::kFixed);
  REQUIRE(config.read.routes.size() == 6);
  CHECK(config.read.routes[2].path == "/api/prom/api/v1/rules");
  CHECK(config.read.routes[2].rewrite == "/prometheus/api/v1/rules");
  CHECK(config.read.routes[2].upstream == "cortex-ruler");
  CHECK(config.read.routes[3].is_prefix);
}

TEST_CASE("the shared multi-tenant example loads", "[config]") {
  Config config =
      load_config_file((source_root() / "config" / "shared-multitenant.yaml").string(), false);
  CHECK(config.server.listen.host == "::");
  CHECK(config.server.threads == 4);
  CHECK(config.server.idle_timeout == seconds(120));
  CHECK(config.tls.min_version == TlsVersion::kTls13);
  CHECK(config.tls.crl_file == "/etc/mla-gateway/tls/ca.crl");
  CHECK(config.tenant.source == TenantSource::kSubjectCn);
  CHECK(config.tenant.pattern == "^cluster-([a-z0-9]+)$");
  CHECK(config.tenant.allowed ==
        std::vector<std::string>{"xyz7nq2k4v", "abcd1234ef", "q9w8e7r6t5"});
  REQUIRE(config.routes.size() == 4);
  CHECK(config.routes[3].is_prefix);
  CHECK(config.routes[3].path == "/otlp/");
  CHECK(config.routes[3].kind == RouteKind::kPassthrough);
  CHECK(config.routes[2].scan);
  CHECK(config.server.max_decompressed_bytes == 128 * kMiB);
  const ratelimit::LimitsConfig& limits = config.limits;
  CHECK(limits.replicas == 3);
  CHECK(limits.limited_status == 429);
  CHECK(limits.defaults.metrics.requests_per_second == 50);
  CHECK(limits.defaults.logs.burst_lines == 20000);
  CHECK(limits.defaults.logs.bytes_per_second == 4 * ratelimit::kMiBytes);
  CHECK(limits.defaults.queries.burst_requests == 40);
  REQUIRE(limits.overrides.size() == 1);
  const ratelimit::TenantLimits& big = limits.limits_for("abcd1234ef");
  CHECK(big.metrics.samples_per_second == 100000);
  CHECK(big.metrics.requests_per_second == 50);  // from the defaults
  CHECK(big.logs.burst_bytes == 24 * ratelimit::kMiBytes);
  CHECK(big.logs.lines_per_second == 10000);  // from the defaults
  CHECK(big.queries == limits.defaults.queries);
  const UpstreamConfig& cortex = config.upstreams.at("cortex");
  CHECK(cortex.use_tls);
  CHECK(cortex.port == 8443);
  CHECK(cortex.base_path.empty());
  CHECK(cortex.max_idle_connections == 128);
  CHECK(cortex.tls.server_name == "cortex-distributor.mla.svc");
  CHECK(cortex.tls.key_file == "/etc/mla-gateway/upstream/tls.key");
}

TEST_CASE("a missing config file is an error naming the file", "[config]") {
  CHECK_THROWS_WITH(load_config_file("/nonexistent/gw.yaml"),
                    StartsWith("/nonexistent/gw.yaml: cannot read config file"));
}

TEST_CASE("with check_files, every named file must be readable", "[config]") {
  TempFiles f;
  auto doc = [&](const std::string& cert, const std::string& key, const std::string& ca,
                 const std::string& crl, const std::string& upstream_ca) {
    return "tls:\n"
           "  cert_file: " +
           cert +
           "\n"
           "  key_file: " +
           key +
           "\n"
           "  client_ca_file: " +
           ca +
           "\n"
           "  crl_file: \"" +
           crl + "\"\n" + kRoutes +
           "upstreams:\n"
           "  cortex:\n"
           "    url: https://cortex\n"
           "    tls: {ca_file: \"" +
           upstream_ca + "\"}\n";
  };
  const std::string cert = f("c.crt"), key = f("c.key"), ca = f("ca.crt"), crl = f("ca.crl");
  const std::string up = f("up-ca.crt"), missing = f("missing.pem");

  CHECK_NOTHROW(load_config_string(doc(cert, key, ca, crl, up), "gw.yaml", true));
  CHECK_NOTHROW(load_config_string(doc(cert, key, ca, "", ""), "gw.yaml", true));
  CHECK_NOTHROW(
      load_config_string(doc(missing, missing, missing, missing, missing), "gw.yaml", false));

  const std::vector<ErrorCase> cases = {
      {"cert", doc(missing, key, ca, crl, up), "2:14", "tls.cert_file",
       "cannot read \"" + missing + "\": No such file or directory"},
      {"key", doc(cert, missing, ca, crl, up), "3:13", "tls.key_file", "cannot read \"" + missing},
      {"client ca", doc(cert, key, missing, crl, up), "4:19", "tls.client_ca_file",
       "cannot read \"" + missing},
      {"crl", doc(cert, key, ca, missing, up), "5:13", "tls.crl_file", "cannot read \"" + missing},
      {"directory", doc(f("subdir"), key, ca, crl, up), "2:14", "tls.cert_file", "is a directory"},
      {"upstream ca", doc(cert, key, ca, crl, missing), "11:20", "upstreams.cortex.tls.ca_file",
       "cannot read \"" + missing},
  };
  for (const auto& c : cases) check_error(c, true);
}

}  // namespace
}  // namespace mla::config
