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
using testing::kUpstreams;
using testing::TempFiles;

Config load(const std::string& extra) {
  return load_config_string(kBase + extra, "gw.yaml", false);
}

TEST_CASE("admin.listen defaults to 127.0.0.1:9091", "[config]") {
  for (const std::string extra : {"", "admin: {}\n", "admin:\n"}) {
    INFO(extra);
    Config config = load(extra);
    REQUIRE(config.admin.listen);
    CHECK(config.admin.listen->host == "127.0.0.1");
    CHECK(config.admin.listen->port == 9091);
  }
}

TEST_CASE("admin.listen takes an address, or an empty string for no listener", "[config]") {
  struct Case {
    std::string text;
    bool enabled;
    std::string host;
    std::uint16_t port;
  };
  const std::vector<Case> cases = {
      {"127.0.0.1:19091", true, "127.0.0.1", 19091},
      {"[::1]:9091", true, "::1", 9091},
      {":9100", true, "0.0.0.0", 9100},
      {"", false, "", 0},
  };
  for (const auto& c : cases) {
    INFO("listen: " << c.text);
    Config config = load("admin: {listen: \"" + c.text + "\"}\n");
    REQUIRE(config.admin.listen.has_value() == c.enabled);
    if (!c.enabled) continue;
    CHECK(config.admin.listen->host == c.host);
    CHECK(config.admin.listen->port == c.port);
  }
}

TEST_CASE("admin errors name the key and its position", "[config]") {
  const std::vector<ErrorCase> cases = {
      {"no port", kBase + "admin: {listen: \"127.0.0.1\"}\n", "6:17", "admin.listen",
       "invalid listen address \"127.0.0.1\""},
      {"host name", kBase + "admin: {listen: \"localhost:9091\"}\n", "6:17", "admin.listen",
       "must be an IP address"},
      {"same port as server",
       kBase + "server: {listen: \":9091\"}\nadmin: {listen: \"127.0.0.1:9091\"}\n", "7:17",
       "admin.listen", "port 9091 is already used by server.listen"},
      {"not a map", kBase + "admin: 9091\n", "6:8", "admin", "want a map"},
      {"unknown key", kBase + "admin:\n  listn: \":1\"\n", "7:3", "admin.listn",
       "unknown key \"listn\""},
      {"socket path too long", kBase + "admin:\n  socket: /" + std::string(120, 's') + "\n", "7:11",
       "admin.socket", "longer than 107 bytes"},
      {"socket is the state file", kBase + "admin:\n  socket: /run/gw/x\n  state_file: /run/gw/x\n",
       "7:11", "admin.socket", "must differ from admin.state_file"},
  };
  for (const auto& c : cases) check_error(c);
}

TEST_CASE("admin socket, state_file and token_file are read as given", "[config]") {
  Config config = load(
      "admin:\n  socket: /run/gw/control.sock\n  state_file: /var/lib/gw/state.json\n"
      "  token_file: /etc/gw/token\n");
  CHECK(config.admin.socket == "/run/gw/control.sock");
  CHECK(config.admin.state_file == "/var/lib/gw/state.json");
  CHECK(config.admin.token_file == "/etc/gw/token");
  CHECK(config.admin.token.empty());  // files are read only with check_files
}

TEST_CASE("a different port on the same host as server.listen is fine", "[config]") {
  Config config =
      load("server: {listen: \"127.0.0.1:8443\"}\nadmin: {listen: \"127.0.0.1:8444\"}\n");
  REQUIRE(config.admin.listen);
  CHECK(config.admin.listen->port == 8444);
}

TEST_CASE("with check_files, admin.token is admin.token_file's trimmed content", "[config]") {
  TempFiles f;
  // Line 6: the admin section; the token_file value starts at column 21.
  auto doc = [&](const std::string& token_file) {
    return "tls: {cert_file: " + f("c.crt") + ", key_file: " + f("c.key") +
           ", client_ca_file: " + f("ca.crt") + "}\n" + kRoutes + kUpstreams +
           "admin: {token_file: \"" + token_file + "\"}\n";
  };
  const std::string token = f.write("admin-token", "s3cret\n");
  CHECK(load_config_string(doc(token), "gw.yaml", true).admin.token == "s3cret");
  const std::string empty = f.write("empty-token", "\r\n");
  check_error(
      {"empty token", doc(empty), "6:21", "admin.token_file", "token file " + empty + " is empty"},
      true);
}

}  // namespace
}  // namespace mla::config
