#include "gateway/tenant/tenant_switch.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace mla::tenant {
namespace {

using namespace std::chrono_literals;
using std::chrono::system_clock;

// 2026-11-25T19:00:00Z
const system_clock::time_point kStart =
    std::chrono::sys_days{std::chrono::year{2026} / 11 / 25} + std::chrono::hours{19};

// A wall clock that moves only when the test says so (single-threaded tests only).
struct FakeWallClock {
  system_clock::time_point at = kStart;
  WallClock clock() {
    return [this] { return at; };
  }
};

TEST_CASE("nothing is refused before anything is disabled", "[tenant_switch]") {
  FakeWallClock time;
  TenantSwitch gate(time.clock());
  CHECK_FALSE(gate.refused("cluster-a").has_value());
  CHECK(gate.snapshot().empty());
  CHECK(gate.now() == kStart);
}

TEST_CASE("disable refuses one tenant indefinitely until enable", "[tenant_switch]") {
  FakeWallClock time;
  TenantSwitch gate(time.clock());
  const DisabledMap disabled = gate.disable("cluster-a", "abuse", std::nullopt);
  CHECK(disabled == DisabledMap{{"cluster-a", {"abuse", kStart, std::nullopt}}});
  CHECK(gate.snapshot() == disabled);
  CHECK(gate.refused("cluster-a") == TenantSwitch::kIndefiniteRetryAfter);
  CHECK_FALSE(gate.refused("cluster-b").has_value());
  CHECK_FALSE(gate.refused("cluster").has_value());  // no prefix matching
  time.at += 24h * 365;
  CHECK(gate.refused("cluster-a") == TenantSwitch::kIndefiniteRetryAfter);

  CHECK(gate.enable("cluster-a").empty());
  CHECK_FALSE(gate.refused("cluster-a").has_value());
  CHECK(gate.snapshot().empty());
}

TEST_CASE("any valid tenant ID can be disabled, seen or not; invalid IDs are rejected",
          "[tenant_switch]") {
  FakeWallClock time;
  TenantSwitch gate(time.clock());
  gate.disable("never-seen.before_(x)", "", std::nullopt);
  CHECK(gate.refused("never-seen.before_(x)") == TenantSwitch::kIndefiniteRetryAfter);
  for (const char* bad : {"", ".", "..", "a/b", "a b", "ü"}) {
    INFO(bad);
    CHECK_THROWS_AS(gate.disable(bad, "", std::nullopt), std::invalid_argument);
  }
  CHECK(gate.snapshot().size() == 1);
}

TEST_CASE("disable rejects durations outside (0, kMaxDuration]", "[tenant_switch]") {
  FakeWallClock time;
  TenantSwitch gate(time.clock());
  CHECK_THROWS_AS(gate.disable("a", "", 0s), std::invalid_argument);
  CHECK_THROWS_AS(gate.disable("a", "", -5s), std::invalid_argument);
  CHECK_THROWS_AS(gate.disable("a", "", TenantSwitch::kMaxDuration + 1s), std::invalid_argument);
  CHECK(gate.snapshot().empty());
  CHECK(gate.disable("a", "", TenantSwitch::kMaxDuration).at("a").until ==
        kStart + TenantSwitch::kMaxDuration);
}

TEST_CASE("Retry-After counts whole seconds to the expiry, rounded up, at least 1",
          "[tenant_switch]") {
  struct Case {
    std::chrono::nanoseconds elapsed;  // since the disable
    std::optional<std::int64_t> retry_after;
  };
  const std::vector<Case> cases = {
      {0ns, 3600},
      {1ns, 3600},
      {500ms, 3600},  // 3599.5 s left
      {1s, 3599},
      {3599s, 1},
      {3599s + 999'999'999ns, 1},  // 1 ns left: still at least 1
      {3600s, std::nullopt},       // until reached: counts as enabled
      {3601s, std::nullopt},
  };
  for (const Case& c : cases) {
    INFO("elapsed " << c.elapsed.count() << " ns");
    FakeWallClock time;
    TenantSwitch gate(time.clock());
    gate.disable("cluster-a", "", 1h);
    time.at += c.elapsed;
    CHECK(gate.refused("cluster-a") == c.retry_after);
  }
}

TEST_CASE("entries carry whole seconds: since and until are truncated", "[tenant_switch]") {
  FakeWallClock time;
  time.at += 300ms;
  TenantSwitch gate(time.clock());
  const DisabledMap disabled = gate.disable("cluster-a", "", 10s);
  CHECK(disabled.at("cluster-a").since == kStart);
  CHECK(disabled.at("cluster-a").until == kStart + 10s);
  CHECK(gate.refused("cluster-a") == 10);  // 9.7 s left, rounded up
}

TEST_CASE("a disable with a duration expires by itself; expire() then drops it",
          "[tenant_switch]") {
  FakeWallClock time;
  TenantSwitch gate(time.clock());
  gate.disable("cluster-a", "maintenance", 10s);
  gate.disable("cluster-b", "abuse", std::nullopt);
  CHECK_FALSE(gate.expire());  // nothing expired yet
  time.at += 9s;
  CHECK(gate.refused("cluster-a") == 1);
  time.at += 1s;
  CHECK_FALSE(gate.refused("cluster-a").has_value());
  CHECK(gate.snapshot() == DisabledMap{{"cluster-b", {"abuse", kStart, std::nullopt}}});

  CHECK(gate.expire());
  CHECK_FALSE(gate.expire());  // already dropped
  CHECK(gate.snapshot() == DisabledMap{{"cluster-b", {"abuse", kStart, std::nullopt}}});
  CHECK(gate.refused("cluster-b") == TenantSwitch::kIndefiniteRetryAfter);
}

TEST_CASE("disable and enable return maps without expired entries", "[tenant_switch]") {
  FakeWallClock time;
  TenantSwitch gate(time.clock());
  gate.disable("short", "", 5s);
  time.at += 5s;
  CHECK(gate.disable("other", "", std::nullopt).size() == 1);
  gate.disable("short", "", 5s);
  time.at += 5s;
  CHECK(gate.enable("nobody").size() == 1);
}

TEST_CASE("disabling a disabled tenant replaces reason, until and since", "[tenant_switch]") {
  FakeWallClock time;
  TenantSwitch gate(time.clock());
  gate.disable("cluster-a", "first", 1h);
  time.at += 10min;
  const DisabledMap disabled = gate.disable("cluster-a", "second", std::nullopt);
  CHECK(disabled == DisabledMap{{"cluster-a", {"second", kStart + 10min, std::nullopt}}});
  CHECK(gate.refused("cluster-a") == TenantSwitch::kIndefiniteRetryAfter);
  gate.disable("cluster-a", "third", 30s);
  CHECK(gate.refused("cluster-a") == 30);
}

TEST_CASE("enabling a tenant that is not disabled changes nothing", "[tenant_switch]") {
  FakeWallClock time;
  TenantSwitch gate(time.clock());
  const DisabledMap before = gate.disable("cluster-a", "x", std::nullopt);
  CHECK(gate.enable("cluster-b") == before);
  CHECK(gate.snapshot() == before);
}

TEST_CASE("replace installs a map as is, expired entries until expire()", "[tenant_switch]") {
  FakeWallClock time;
  TenantSwitch gate(time.clock());
  gate.disable("old", "", std::nullopt);
  const DisabledMap loaded = {
      {"forever", {"abuse", kStart - 1h, std::nullopt}},
      {"later", {"", kStart - 1h, kStart + 90s}},
      {"past", {"", kStart - 1h, kStart - 1s}},
  };
  gate.replace(loaded);
  CHECK_FALSE(gate.refused("old").has_value());
  CHECK(gate.refused("forever") == TenantSwitch::kIndefiniteRetryAfter);
  CHECK(gate.refused("later") == 90);
  CHECK_FALSE(gate.refused("past").has_value());
  CHECK(gate.snapshot().size() == 2);
  CHECK(gate.expire());
  CHECK(gate.snapshot() ==
        DisabledMap{{"forever", loaded.at("forever")}, {"later", loaded.at("later")}});

  gate.replace({});
  CHECK_FALSE(gate.refused("forever").has_value());
  CHECK(gate.snapshot().empty());
}

TEST_CASE("one thread reading several switches sees each one's own map", "[tenant_switch]") {
  FakeWallClock time;
  TenantSwitch first(time.clock());
  TenantSwitch second(time.clock());
  first.disable("a", "", std::nullopt);
  second.disable("b", "", std::nullopt);
  for (int i = 0; i < 3; ++i) {
    CHECK(first.refused("a") == TenantSwitch::kIndefiniteRetryAfter);
    CHECK_FALSE(first.refused("b").has_value());
    CHECK(second.refused("b") == TenantSwitch::kIndefiniteRetryAfter);
    CHECK_FALSE(second.refused("a").has_value());
  }
  // A switch built where a destroyed one lived must not see the old one's map.
  std::optional<TenantSwitch> slot;
  slot.emplace(time.clock());
  slot->disable("c", "", std::nullopt);
  CHECK(slot->refused("c") == TenantSwitch::kIndefiniteRetryAfter);
  slot.reset();
  slot.emplace(time.clock());
  slot->disable("d", "", std::nullopt);
  CHECK_FALSE(slot->refused("c").has_value());
  CHECK(slot->refused("d") == TenantSwitch::kIndefiniteRetryAfter);
}

TEST_CASE("readers see only whole maps while a writer toggles tenants",
          "[tenant_switch][concurrency]") {
  constexpr int kReaders = 4;
  constexpr int kToggles = 2000;
  const system_clock::time_point fixed = kStart;  // read by every thread, never changed
  TenantSwitch gate([fixed] { return fixed; });
  gate.disable("always", "", std::nullopt);

  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  readers.reserve(kReaders);
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&] {
      long mine = 0;
      // Bounded by the writer's kToggles, plus one final pass after it is done.
      for (bool last = false; !last; ++mine) {
        last = done.load(std::memory_order_acquire);
        // "always" is in every published map; "toggled" is either absent or indefinite;
        // "timed" is either absent or has 100 s to go (the clock stands still).
        if (gate.refused("always") != TenantSwitch::kIndefiniteRetryAfter) bad.fetch_add(1);
        const auto toggled = gate.refused("toggled");
        if (toggled && *toggled != TenantSwitch::kIndefiniteRetryAfter) bad.fetch_add(1);
        const auto timed = gate.refused("timed");
        if (timed && *timed != 100) bad.fetch_add(1);
        if (gate.refused("never").has_value()) bad.fetch_add(1);
      }
      reads.fetch_add(mine);
    });
  }
  for (int i = 0; i < kToggles; ++i) {
    gate.disable("toggled", "", std::nullopt);
    if (i % 2 == 0) gate.disable("timed", "", 100s);
    gate.enable("toggled");
    if (i % 2 == 1) gate.enable("timed");
    if (i % 100 == 0) gate.replace(gate.snapshot());
  }
  done.store(true, std::memory_order_release);
  for (auto& reader : readers) reader.join();
  CHECK(bad.load() == 0);
  CHECK(reads.load() >= kReaders);
  CHECK(gate.snapshot().size() == 1);
}

}  // namespace
}  // namespace mla::tenant
