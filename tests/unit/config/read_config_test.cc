#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "gateway/config/loader.h"
#include "tests/unit/config/config_cases.h"

namespace mla::config {
namespace {

using testing::check_error;
using testing::ErrorCase;
using testing::kBase;
using testing::kRoutes;
using testing::kTls;
using testing::kUpstreams;
using testing::TempFiles;

// Lines 4-6: the upstreams the read routes below name.
const std::string kReadUpstreams =
    "upstreams:\n"
    "  cortex: {url: \"http://cortex:8080\"}\n"
    "  query: {url: \"http://query-frontend:8080\"}\n";
// Lines 1-6, without a tenant.fixed; a `read:` appended is line 7.
const std::string kNoTenantBase = kTls + kRoutes + kReadUpstreams;
// Lines 1-7, with a fixed tenant; a `read:` appended is line 8.
const std::string kReadBase = kNoTenantBase + "tenant: {source: fixed, fixed: xyz7nq2k4v}\n";
// A read section: "read:" is line 8, `lines` start at line 9.
std::string doc(const std::string& lines) { return kReadBase + "read:\n" + lines; }
// Line 9, then "  routes:" on line 10 and route lines from line 11.
const std::string kListen = "  listen: \":8081\"\n";
const std::string kRouteQ = "    - {path_prefix: /api/prom/, upstream: query}\n";
std::string routes(const std::string& route_lines) {
  return doc(kListen + "  routes:\n" + route_lines);
}
// A listener on `address` (line 9, value at column 11) with one route (lines 10-11).
std::string listener(const std::string& address) {
  return doc("  listen: \"" + address + "\"\n  routes:\n" + kRouteQ);
}

Config load(const std::string& yaml) { return load_config_string(yaml, "gw.yaml", false); }

// DESIGN.md §3's read section for a KKP user cluster, and the upstreams it names.
const std::string kKkp =
    kTls + kRoutes +
    "upstreams:\n"
    "  cortex: {url: \"http://cortex-distributor.mla.svc:8080\"}\n"
    "  cortex-alertmanager: {url: \"http://cortex-alertmanager.mla.svc:8080\"}\n"
    "  cortex-ruler: {url: \"http://cortex-ruler.mla.svc:8080\"}\n"
    "  cortex-query-frontend: {url: \"http://cortex-qf.mla.svc:8080\"}\n"
    "  loki-query-frontend: {url: \"http://loki-qf.mla.svc:3100\"}\n"
    "  loki-ruler: {url: \"http://loki-ruler.mla.svc:3100\"}\n"
    "tenant: {source: fixed, fixed: xyz7nq2k4v}\n"
    "read:\n"
    "  listen: 0.0.0.0:8081\n"
    "  tenant_from: fixed\n"
    "  token_file: \"\"\n"
    "  routes:\n"
    "    - {path_prefix: /api/prom/alertmanager/, upstream: cortex-alertmanager}\n"
    "    - {path: /api/prom/api/v1/alerts, rewrite: /api/v1/alerts, upstream: "
    "cortex-alertmanager}\n"
    "    - {path: /api/prom/api/v1/rules, rewrite: /prometheus/api/v1/rules, "
    "upstream: cortex-ruler}\n"
    "    - {path_prefix: /api/prom/, upstream: cortex-query-frontend}\n"
    "    - {path_prefix: /loki/api/, upstream: loki-query-frontend}\n"
    "    - {path_prefix: /prometheus/, upstream: loki-ruler}\n";

TEST_CASE("the KKP read section loads with its routes, rewrites and upstreams", "[config]") {
  Config config = load(kKkp);
  const ReadConfig& read = config.read;
  REQUIRE(read.listen);
  CHECK(read.listen->host == "0.0.0.0");
  CHECK(read.listen->port == 8081);
  CHECK(read.tenant_from == ReadTenantFrom::kFixed);
  CHECK(read.token_file.empty());
  CHECK(read.token.empty());
  CHECK(read.tls.cert_file.empty());
  struct Want {
    std::string path;
    bool is_prefix;
    std::string rewrite;
    std::string upstream;
  };
  const std::vector<Want> want = {
      {"/api/prom/alertmanager/", true, "", "cortex-alertmanager"},
      {"/api/prom/api/v1/alerts", false, "/api/v1/alerts", "cortex-alertmanager"},
      {"/api/prom/api/v1/rules", false, "/prometheus/api/v1/rules", "cortex-ruler"},
      {"/api/prom/", true, "", "cortex-query-frontend"},
      {"/loki/api/", true, "", "loki-query-frontend"},
      {"/prometheus/", true, "", "loki-ruler"},
  };
  REQUIRE(read.routes.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("read.routes[" << i << "]");
    const RouteConfig& r = read.routes[i];
    CHECK(r.path == want[i].path);
    CHECK(r.is_prefix == want[i].is_prefix);
    CHECK(r.rewrite == want[i].rewrite);
    CHECK(r.upstream == want[i].upstream);
    CHECK(r.kind == RouteKind::kPassthrough);
    CHECK_FALSE(r.scan);
    CHECK(r.clients.empty());
  }
  // The write routes are untouched by the read section.
  REQUIRE(config.routes.size() == 1);
  CHECK(config.routes[0].rewrite.empty());
}

TEST_CASE("without read.listen there is no read listener", "[config]") {
  for (const std::string extra : {"", "read:\n", "read: {}\n", "read: {listen: \"\"}\n"}) {
    INFO(extra);
    Config config = load(kBase + extra);
    CHECK_FALSE(config.read.listen);
    CHECK(config.read.routes.empty());
    CHECK(config.read.tenant_from == ReadTenantFrom::kFixed);
  }
}

TEST_CASE("read.listen takes host:port, [ipv6]:port or :port", "[config]") {
  struct Case {
    std::string text;
    std::string host;
    std::uint16_t port;
  };
  const std::vector<Case> cases = {
      {"0.0.0.0:8081", "0.0.0.0", 8081},
      {":8081", "0.0.0.0", 8081},
      {"[::1]:8081", "::1", 8081},
      {"127.0.0.1:8444", "127.0.0.1", 8444},  // server.listen's host, another port
  };
  for (const auto& c : cases) {
    INFO("listen: " << c.text);
    Config config = load(listener(c.text));
    REQUIRE(config.read.listen);
    CHECK(config.read.listen->host == c.host);
    CHECK(config.read.listen->port == c.port);
  }
}

TEST_CASE("read.listen may take the admin port when the admin listener is off", "[config]") {
  Config config = load(listener("127.0.0.1:9091") + "admin: {listen: \"\"}\n");
  REQUIRE(config.read.listen);
  CHECK(config.read.listen->port == 9091);
}

TEST_CASE("tenant_from header needs no tenant.fixed", "[config]") {
  Config config = load(kNoTenantBase + "read:\n  listen: \":8081\"\n  tenant_from: header\n" +
                       "  routes:\n" + kRouteQ);
  CHECK(config.read.tenant_from == ReadTenantFrom::kHeader);
  CHECK(config.tenant.fixed.empty());
}

TEST_CASE("a read route may say kind: passthrough", "[config]") {
  Config config = load(routes("    - {path: /a, kind: passthrough, upstream: query}\n"));
  REQUIRE(config.read.routes.size() == 1);
  CHECK(config.read.routes[0].kind == RouteKind::kPassthrough);
  CHECK_FALSE(config.read.routes[0].scan);
}

TEST_CASE("read.tls and read.token_file are loaded as given", "[config]") {
  Config config = load(doc(kListen + "  routes:\n" + kRouteQ +
                           "  tls: {cert_file: r.crt, key_file: r.key, client_ca_file: rca.crt}\n" +
                           "  token_file: /etc/gw/read-token\n"));
  CHECK(config.read.tls.cert_file == "r.crt");
  CHECK(config.read.tls.key_file == "r.key");
  CHECK(config.read.tls.client_ca_file == "rca.crt");
  CHECK(config.read.token_file == "/etc/gw/read-token");
  CHECK(config.read.token.empty());  // files are read only with check_files
}

TEST_CASE("an unused read section keeps its routes, which are still checked", "[config]") {
  // No tenant.fixed, no listener: tenant_from fixed needs nothing.
  Config config = load(kNoTenantBase + "read:\n  tenant_from: fixed\n  routes:\n" + kRouteQ);
  CHECK_FALSE(config.read.listen);
  REQUIRE(config.read.routes.size() == 1);
  CHECK(config.read.routes[0].upstream == "query");

  const std::vector<ErrorCase> cases = {
      {"unknown upstream", doc("  routes:\n    - {path: /a, upstream: mimir}\n"), "10:28",
       "read.routes[0].upstream", "unknown upstream \"mimir\" (defined: cortex, query)"},
      {"path without slash", doc("  listen: \"\"\n  routes:\n    - {path: a, upstream: query}\n"),
       "11:14", "read.routes[0].path", "must start with '/', got \"a\""},
      {"cert without key", doc("  tls: {cert_file: r.crt}\n"), "9:20", "read.tls.cert_file",
       "cert_file and key_file must be set together"},
  };
  for (const auto& c : cases) check_error(c);
}

TEST_CASE("read section errors name the key and its position", "[config]") {
  const std::vector<ErrorCase> cases = {
      {"not a map", kReadBase + "read: 8081\n", "8:7", "read", "want a map, got scalar"},
      {"unknown key", doc("  listn: \":8081\"\n"), "9:3", "read.listn",
       "unknown key \"listn\" (known keys here: listen, tenant_from, token_file, tls, routes)"},
      {"listen without port", doc("  listen: \"8081\"\n"), "9:11", "read.listen",
       "invalid listen address \"8081\" (want host:port, [ipv6]:port, :port, or \"\" for none)"},
      {"listen is a list", doc("  listen: [\":8081\"]\n"), "9:11", "read.listen",
       "want a string, got a list"},
      {"listen host name", listener("localhost:8081"), "9:11", "read.listen",
       "host \"localhost\" must be an IP address"},
      {"same port as server", listener(":8443"), "9:11", "read.listen",
       "port 8443 is already used by server.listen"},
      {"same port as admin", listener("127.0.0.1:9091"), "9:11", "read.listen",
       "port 9091 is already used by admin.listen"},
      {"wildcard on the admin port", listener("[::]:9091"), "9:11", "read.listen",
       "port 9091 is already used by admin.listen"},
      {"bad tenant_from", doc("  tenant_from: cert\n"), "9:16", "read.tenant_from",
       "invalid value \"cert\" (want one of: fixed, header)"},
      {"token_file is a list", doc("  token_file: [a]\n"), "9:15", "read.token_file",
       "want a string, got a list"},
      // A missing key points at the map that should hold it.
      {"no routes", doc(kListen), "9:3", "read.routes",
       "at least one route is required when read.listen is set"},
      {"empty routes", doc(kListen + "  routes: []\n"), "10:11", "read.routes",
       "at least one route is required when read.listen is set"},
  };
  for (const auto& c : cases) check_error(c);
}

TEST_CASE("tenant_from fixed needs tenant.fixed", "[config]") {
  const std::string read_lines = "  listen: \":8081\"\n  tenant_from: fixed\n  routes:\n" + kRouteQ;
  const std::vector<ErrorCase> cases = {
      {"no tenant.fixed", kNoTenantBase + "read:\n" + read_lines, "9:16", "read.tenant_from",
       "needs tenant.fixed (the tenant of every read request); set it, or use tenant_from: "
       "header"},
      // tenant_from defaults to fixed; the error points at the read section.
      {"tenant_from left out", kNoTenantBase + "read:\n  listen: \":8081\"\n  routes:\n" + kRouteQ,
       "8:3", "read.tenant_from", "needs tenant.fixed"},
      {"tenant.fixed not allowed",
       kNoTenantBase + "tenant: {fixed: a, allowed: [b]}\nread:\n" + read_lines, "10:16",
       "read.tenant_from", "tenant.fixed \"a\" is not in tenant.allowed"},
      // An invalid tenant.fixed is reported at tenant.fixed, whatever the source.
      {"tenant.fixed invalid", kNoTenantBase + "tenant: {fixed: \"a/b\"}\nread:\n" + read_lines,
       "7:17", "tenant.fixed", "invalid tenant ID \"a/b\""},
  };
  for (const auto& c : cases) check_error(c);
}

TEST_CASE("read route errors name the key and its position", "[config]") {
  const std::vector<ErrorCase> cases = {
      {"routes is a map", doc(kListen + "  routes: {path: /a}\n"), "10:11", "read.routes",
       "want a list of routes, got a map"},
      {"route is a scalar", routes("    - /a\n"), "11:7", "read.routes[0]", "want a map"},
      {"kind is not passthrough", routes("    - {path: /a, kind: loki_push, upstream: query}\n"),
       "11:24", "read.routes[0].kind", "invalid value \"loki_push\": read routes are passthrough"},
      {"scan is not a key", routes("    - {path: /a, upstream: query, scan: false}\n"), "11:35",
       "read.routes[0].scan",
       "unknown key \"scan\" (known keys here: path, path_prefix, kind, upstream, rewrite)"},
      {"clients is not a key", routes("    - {path: /a, upstream: query, clients: [grafana]}\n"),
       "11:35", "read.routes[0].clients", "unknown key \"clients\""},
      {"missing upstream", routes("    - {path: /a}\n"), "11:7", "read.routes[0].upstream",
       "required"},
      {"unknown upstream", routes(kRouteQ + "    - {path: /b, upstream: mimir}\n"), "12:28",
       "read.routes[1].upstream", "unknown upstream \"mimir\" (defined: cortex, query)"},
      {"both path and path_prefix", routes("    - {path: /a, path_prefix: /b, upstream: query}\n"),
       "11:31", "read.routes[0].path_prefix", "set either path or path_prefix, not both"},
      {"neither path nor path_prefix", routes("    - {upstream: query}\n"), "11:7",
       "read.routes[0]", "path or path_prefix is required"},
      {"path without slash", routes("    - {path: api, upstream: query}\n"), "11:14",
       "read.routes[0].path", "must start with '/', got \"api\""},
      {"duplicate prefix", routes(kRouteQ + kRouteQ), "12:21", "read.routes[1].path_prefix",
       "\"/api/prom/\" is already used by read.routes[0]"},
      {"rewrite without slash", routes("    - {path: /a, rewrite: api/v1, upstream: query}\n"),
       "11:27", "read.routes[0].rewrite", "must start with '/', got \"api/v1\""},
      {"rewrite with a query", routes("    - {path: /a, rewrite: \"/b?x=1\", upstream: query}\n"),
       "11:27", "read.routes[0].rewrite",
       "invalid path \"/b?x=1\" (no spaces, control characters, '?' or '#')"},
      {"rewrite is a list", routes("    - {path: /a, rewrite: [/b], upstream: query}\n"), "11:27",
       "read.routes[0].rewrite", "want a string, got a list"},
  };
  for (const auto& c : cases) check_error(c);
}

TEST_CASE("read.tls errors name the key and its position", "[config]") {
  // Lines 9-11: listener and one route; the tls line is line 12.
  auto tls = [](const std::string& map) {
    return doc(kListen + "  routes:\n" + kRouteQ + "  tls: " + map + "\n");
  };
  const std::vector<ErrorCase> cases = {
      {"cert without key", tls("{cert_file: r.crt}"), "12:20", "read.tls.cert_file",
       "cert_file and key_file must be set together (the read listener's certificate)"},
      {"key without cert", tls("{key_file: r.key}"), "12:19", "read.tls.key_file",
       "cert_file and key_file must be set together"},
      {"client CA without cert", tls("{client_ca_file: ca.crt}"), "12:25",
       "read.tls.client_ca_file",
       "needs read.tls.cert_file (client certificates are asked for over TLS only)"},
      {"unknown key", tls("{cert_file: r.crt, key_file: r.key, crl_file: x}"), "12:44",
       "read.tls.crl_file", "unknown key \"crl_file\""},
      {"not a map", tls("true"), "12:8", "read.tls", "want a map, got scalar"},
  };
  for (const auto& c : cases) check_error(c);
}

TEST_CASE("with check_files, read files must be readable and the token is read", "[config]") {
  TempFiles f;
  const std::string cert = f("c.crt"), key = f("c.key"), ca = f("ca.crt");
  const std::string missing = f("missing.pem");
  const std::string token = f.write("read-token", "  s3cret \n");
  const std::string empty_token = f.write("empty-token", " \n");
  // Lines 1-7 as kReadBase with readable TLS files; read: line 8, listen line 9, route lines
  // 10-11, token_file line 12 (value at column 15), tls lines 13-16.
  auto read_doc = [&](const std::string& listen, const std::string& token_file,
                      const std::string& read_cert, const std::string& read_key,
                      const std::string& read_ca) {
    return "tls: {cert_file: " + cert + ", key_file: " + key + ", client_ca_file: " + ca + "}\n" +
           kRoutes + kReadUpstreams + "tenant: {source: fixed, fixed: xyz7nq2k4v}\n" +
           "read:\n"
           "  listen: \"" +
           listen + "\"\n  routes:\n" + kRouteQ + "  token_file: \"" + token_file +
           "\"\n"
           "  tls:\n"
           "    cert_file: \"" +
           read_cert + "\"\n    key_file: \"" + read_key + "\"\n    client_ca_file: \"" + read_ca +
           "\"\n";
  };

  Config config = load_config_string(read_doc(":8081", token, cert, key, ca), "gw.yaml", true);
  CHECK(config.read.token == "s3cret");  // surrounding whitespace is not part of it
  CHECK(config.read.tls.client_ca_file == ca);
  CHECK(load_config_string(read_doc(":8081", "", "", "", ""), "gw.yaml", true).read.token.empty());
  // A read section without a listener is unused: its files are neither checked nor read.
  Config off =
      load_config_string(read_doc("", missing, missing, missing, missing), "gw.yaml", true);
  CHECK_FALSE(off.read.listen);
  CHECK(off.read.token.empty());

  const std::vector<ErrorCase> cases = {
      {"token missing", read_doc(":8081", missing, cert, key, ca), "12:15", "read.token_file",
       "cannot read \"" + missing + "\": No such file or directory"},
      {"token is a directory", read_doc(":8081", f("subdir"), cert, key, ca), "12:15",
       "read.token_file", "is a directory"},
      {"token is empty", read_doc(":8081", empty_token, cert, key, ca), "12:15", "read.token_file",
       "token file " + empty_token + " is empty"},
      {"cert missing", read_doc(":8081", "", missing, key, ca), "14:16", "read.tls.cert_file",
       "cannot read \"" + missing},
      {"key missing", read_doc(":8081", "", cert, missing, ca), "15:15", "read.tls.key_file",
       "cannot read \"" + missing},
      {"client CA missing", read_doc(":8081", "", cert, key, missing), "16:21",
       "read.tls.client_ca_file", "cannot read \"" + missing},
  };
  for (const auto& c : cases) check_error(c, true);
}

TEST_CASE("a write route may rewrite its path", "[config]") {
  Config config =
      load(kTls +
           "routes:\n"
           "  - {path_prefix: /otlp/, kind: passthrough, upstream: cortex, rewrite: /v1/otlp/}\n" +
           kRoutes.substr(std::string("routes:\n").size()) + kUpstreams);
  REQUIRE(config.routes.size() == 2);
  CHECK(config.routes[0].rewrite == "/v1/otlp/");
  CHECK(config.routes[0].is_prefix);
  CHECK(config.routes[0].scan);  // write routes keep their own defaults
  CHECK(config.routes[1].rewrite.empty());

  const std::vector<ErrorCase> cases = {
      {"rewrite without slash",
       kTls + "routes:\n  - {path: /a, kind: passthrough, upstream: cortex, rewrite: b}\n" +
           kUpstreams,
       "3:62", "routes[0].rewrite", "must start with '/', got \"b\""},
      {"rewrite with a space",
       kTls + "routes:\n  - {path: /a, kind: passthrough, upstream: cortex, rewrite: \"/b c\"}\n" +
           kUpstreams,
       "3:62", "routes[0].rewrite", "invalid path \"/b c\""},
  };
  for (const auto& c : cases) check_error(c);
}

}  // namespace
}  // namespace mla::config
