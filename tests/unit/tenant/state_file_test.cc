#include "gateway/tenant/state_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "gateway/tenant/tenant_switch.h"
#include "tests/support/test_certs.h"

namespace mla::tenant {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::system_clock;
using testing::TempDir;
using testing::write_file;

// 2026-11-25T19:00:00Z
const system_clock::time_point kStart =
    std::chrono::sys_days{std::chrono::year{2026} / 11 / 25} + std::chrono::hours{19};

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> list_dir(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

// The message load_state_file(path) throws; fails the test if it does not throw.
std::string load_error(const std::string& path) {
  try {
    load_state_file(path);
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  FAIL("load_state_file did not throw");
  return "";
}

TEST_CASE("state file round trip keeps every field", "[state_file]") {
  TempDir dir;
  const std::string path = dir.file("state.json");
  const DisabledMap disabled = {
      {"cluster-a", {"abuse", kStart, kStart + 1h}},
      {"cluster-b", {"", kStart - 24h, std::nullopt}},
      {"c(1)*'!", {"say \"stop\" \\ ünïcødé ✓ 🚫\nline two\ttab", kStart, std::nullopt}},
  };
  save_state_file(path, disabled);
  CHECK(load_state_file(path) == disabled);

  save_state_file(path, {});
  CHECK(load_state_file(path).empty());
}

TEST_CASE("state file is pretty-printed JSON with a trailing newline", "[state_file]") {
  TempDir dir;
  const std::string path = dir.file("state.json");
  save_state_file(path, {{"cluster-a", {"abuse", kStart, kStart + 1h}},
                         {"cluster-b", {"", kStart, std::nullopt}}});
  CHECK(read_text(path) ==
        "{\n"
        "  \"version\": 1,\n"
        "  \"disabled\": [\n"
        "    {\n"
        "      \"tenant\": \"cluster-a\",\n"
        "      \"reason\": \"abuse\",\n"
        "      \"since\": \"2026-11-25T19:00:00Z\",\n"
        "      \"until\": \"2026-11-25T20:00:00Z\"\n"
        "    },\n"
        "    {\n"
        "      \"tenant\": \"cluster-b\",\n"
        "      \"reason\": \"\",\n"
        "      \"since\": \"2026-11-25T19:00:00Z\",\n"
        "      \"until\": null\n"
        "    }\n"
        "  ]\n"
        "}\n");
}

TEST_CASE("a switch's snapshot survives save and load unchanged", "[state_file]") {
  TempDir dir;
  const std::string path = dir.file("state.json");
  system_clock::time_point at = kStart + 123456789ns;  // sub-second: truncated by the switch
  TenantSwitch gate([&at] { return at; });
  gate.disable("cluster-a", "abuse", 90min);
  gate.disable("cluster-b", "", std::nullopt);
  save_state_file(path, gate.snapshot());

  TenantSwitch restarted([&at] { return at; });
  restarted.replace(load_state_file(path));
  CHECK(restarted.snapshot() == gate.snapshot());
  CHECK(restarted.refused("cluster-a") == gate.refused("cluster-a"));
}

TEST_CASE("a missing state file is an empty map", "[state_file]") {
  TempDir dir;
  CHECK(load_state_file(dir.file("state.json")).empty());
  CHECK(load_state_file(dir.file("no-such-dir/state.json")).empty());
}

TEST_CASE("loading accepts omitted reason and until", "[state_file]") {
  TempDir dir;
  const std::string path = dir.file("state.json");
  write_file(path,
             R"({"disabled": [{"since": "2026-11-25T19:00:00Z", "tenant": "a"}], "version": 1})");
  CHECK(load_state_file(path) == DisabledMap{{"a", {"", kStart, std::nullopt}}});
}

TEST_CASE("a state file that is wrong in any way is an error naming the path", "[state_file]") {
  struct Case {
    const char* intent;
    std::string contents;
    std::string error;  // the message after "state_file <path>: "
  };
  const std::string entry = R"("tenant": "a", "since": "2026-11-25T19:00:00Z")";
  auto with_entry = [](const std::string& fields) {
    return R"({"version": 1, "disabled": [{)" + fields + "}]}";
  };
  const std::vector<Case> cases = {
      {"empty file", "", "not valid JSON: "},
      {"truncated JSON", R"({"version": 1, "disabled": [)", "not valid JSON: "},
      {"trailing garbage", R"({"version": 1, "disabled": []} x)", "not valid JSON: "},
      {"NUL byte, then garbage", std::string(R"({"version": 1, "disabled": []})") + '\0' + "x",
       "not valid JSON: contains a NUL byte"},
      {"not an object", "[]", "top level: expected an object"},
      {"unknown top-level key", R"({"version": 1, "disabled": [], "extra": 0})",
       R"(top level: unknown key "extra")"},
      {"version missing", R"({"disabled": []})", "version: missing"},
      {"version 2", R"({"version": 2, "disabled": []})", "version: 2 is not supported"},
      {"version as a string", R"({"version": "1", "disabled": []})",
       R"(version: "1" is not supported)"},
      {"version as a float", R"({"version": 1.0, "disabled": []})",
       "version: 1.0 is not supported"},
      {"disabled missing", R"({"version": 1})", "disabled: missing"},
      {"disabled not an array", R"({"version": 1, "disabled": {}})", "disabled: expected an array"},
      {"entry not an object", R"({"version": 1, "disabled": ["a"]})",
       "disabled[0]: expected an object"},
      {"unknown entry key", with_entry(entry + R"(, "untill": null)"),
       R"(disabled[0]: unknown key "untill")"},
      {"tenant missing", with_entry(R"("since": "2026-11-25T19:00:00Z")"),
       "disabled[0].tenant: missing"},
      {"tenant not a string", with_entry(R"("tenant": 7, "since": "2026-11-25T19:00:00Z")"),
       "disabled[0].tenant: expected a string"},
      {"invalid tenant", with_entry(R"("tenant": "a/b", "since": "2026-11-25T19:00:00Z")"),
       R"(disabled[0].tenant: "a/b" is invalid)"},
      {"tenant ..", with_entry(R"("tenant": "..", "since": "2026-11-25T19:00:00Z")"),
       R"(disabled[0].tenant: ".." is invalid)"},
      {"repeated tenant", R"({"version": 1, "disabled": [{)" + entry + "}, {" + entry + "}]}",
       R"(disabled[1].tenant: "a" is repeated)"},
      {"reason not a string", with_entry(entry + R"(, "reason": null)"),
       "disabled[0].reason: expected a string"},
      {"since missing", with_entry(R"("tenant": "a")"), "disabled[0].since: missing"},
      {"since garbage", with_entry(R"("tenant": "a", "since": "yesterday")"),
       R"(disabled[0].since: "yesterday" is not a UTC timestamp)"},
      {"since a number", with_entry(R"("tenant": "a", "since": 1764097200)"),
       "disabled[0].since: 1764097200 is not a UTC timestamp"},
      {"since null", with_entry(R"("tenant": "a", "since": null)"),
       "disabled[0].since: null is not a UTC timestamp"},
      {"no such date", with_entry(R"("tenant": "a", "since": "2026-02-29T00:00:00Z")"),
       "disabled[0].since: \"2026-02-29T00:00:00Z\" is not"},
      {"hour 24", with_entry(R"("tenant": "a", "since": "2026-11-25T24:00:00Z")"),
       "disabled[0].since: "},
      {"offset instead of Z", with_entry(R"("tenant": "a", "since": "2026-11-25T19:00:00+01:00")"),
       "disabled[0].since: "},
      {"fractional seconds", with_entry(R"("tenant": "a", "since": "2026-11-25T19:00:00.5Z")"),
       "disabled[0].since: "},
      {"lowercase t", with_entry(R"("tenant": "a", "since": "2026-11-25t19:00:00Z")"),
       "disabled[0].since: "},
      {"sign in a field", with_entry(R"("tenant": "a", "since": "2026-+1-25T19:00:00Z")"),
       "disabled[0].since: "},
      {"year out of range", with_entry(R"("tenant": "a", "since": "2300-01-01T00:00:00Z")"),
       "disabled[0].since: "},
      {"until garbage", with_entry(entry + R"(, "until": "2026-11-25")"),
       R"(disabled[0].until: "2026-11-25" is not a UTC timestamp)"},
  };
  TempDir dir;
  const std::string path = dir.file("state.json");
  for (const Case& c : cases) {
    INFO(c.intent);
    write_file(path, c.contents);
    const std::string prefix = "state_file " + path + ": ";
    const std::string message = load_error(path);
    CHECK(message.rfind(prefix + c.error, 0) == 0);
    CHECK(message.find('\n') == std::string::npos);
  }
}

TEST_CASE("a directory in place of the state file is an error", "[state_file]") {
  TempDir dir;
  const std::string path = dir.file("state.json");
  fs::create_directory(path);
  CHECK(load_error(path) == "state_file " + path + ": not a regular file");
}

TEST_CASE("saving into a missing directory throws and creates nothing", "[state_file]") {
  TempDir dir;
  const std::string path = dir.file("missing/state.json");
  try {
    save_state_file(path, {{"a", {"", kStart, std::nullopt}}});
    FAIL("save_state_file did not throw");
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    CHECK(message.rfind("state_file " + path + ": create " + path + ".tmp.", 0) == 0);
    CHECK(message.find("No such file or directory") != std::string::npos);
  }
  CHECK(list_dir(dir.path()).empty());
}

TEST_CASE("saving replaces the old file whole and leaves no temp file", "[state_file]") {
  TempDir dir;
  const std::string path = dir.file("state.json");
  write_file(path, "old contents\n");
  ::chmod(path.c_str(), 0644);
  const DisabledMap disabled = {{"a", {"x", kStart, std::nullopt}}};
  save_state_file(path, disabled);
  const std::string text = read_text(path);
  CHECK(text.find("old contents") == std::string::npos);
  CHECK(load_state_file(path) == disabled);
  CHECK(list_dir(dir.path()) == std::vector<std::string>{"state.json"});
}

TEST_CASE("the state file is written with mode 0600", "[state_file]") {
  TempDir dir;
  const std::string path = dir.file("state.json");
  const mode_t old_umask = ::umask(0);  // the mode must not depend on the umask either way
  save_state_file(path, {});
  ::umask(old_umask);
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0600);
}

TEST_CASE("a temp file left by a crashed process with our PID is overwritten", "[state_file]") {
  TempDir dir;
  const std::string path = dir.file("state.json");
  const std::string stale = path + ".tmp." + std::to_string(::getpid());
  write_file(stale, "half a file from before the crash, longer than the new one will be......");
  ::chmod(stale.c_str(), 0666);
  save_state_file(path, {});
  CHECK(load_state_file(path).empty());
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0600);
  CHECK(list_dir(dir.path()) == std::vector<std::string>{"state.json"});
}

TEST_CASE("a failed rename removes the temp file and keeps what was there", "[state_file]") {
  TempDir dir;
  // A non-empty directory where the file should be: rename() fails after the temp is written.
  const std::string path = dir.file("state.json");
  fs::create_directory(path);
  write_file(path + "/keep", "kept");
  CHECK_THROWS_WITH(save_state_file(path, {}),
                    Catch::StartsWith("state_file " + path + ": rename " + path + ".tmp."));
  CHECK(list_dir(dir.path()) == std::vector<std::string>{"state.json"});
  CHECK(read_text(path + "/keep") == "kept");
}

TEST_CASE("saving a map that could not be loaded back writes nothing", "[state_file]") {
  TempDir dir;
  const std::string path = dir.file("state.json");
  write_file(path, "old\n");
  CHECK_THROWS_WITH(save_state_file(path, {{"a/b", {"", kStart, std::nullopt}}}),
                    "state_file " + path + ": tenant \"a/b\" is invalid");
  CHECK_THROWS_WITH(save_state_file(path, {{"a", {"\xff", kStart, std::nullopt}}}),
                    Catch::StartsWith("state_file " + path + ": tenant \"a\": reason: "));
  CHECK_THROWS_WITH(
      save_state_file(path, {{"a", {"", system_clock::time_point{}, kStart + 24h * 365 * 200}}}),
      "state_file " + path + ": tenant \"a\": timestamp outside years 1970-2199");
  CHECK(read_text(path) == "old\n");
  CHECK(list_dir(dir.path()) == std::vector<std::string>{"state.json"});
}

}  // namespace
}  // namespace mla::tenant
