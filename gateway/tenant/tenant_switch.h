// The tenant kill switch (DESIGN.md §4 "tenant disabled", §6 tenant API): the set of disabled
// tenants, read by every worker thread on every request and changed only by the admin thread.
//
// Concurrency: the map is immutable once published; every change copies it, edits the copy and
// publishes that (writes are rare: an operator's command). refused() is lock-free while nothing
// changes: an atomic entry count answers "may send" when nothing is disabled (the common case);
// otherwise each reader thread keeps its own reference to the published map and checks an atomic
// version, so the hot path writes no shared cache line. Only after a change does a reader take
// publish_mutex_, once, to pick up the new map; a writer holds that mutex for a pointer swap only,
// never while building a map. (Not std::atomic<std::shared_ptr>: GCC 12's load() releases its
// lock bit with memory_order_relaxed, a real data race that TSan reports, google/sanitizers#1558;
// it also writes the shared control word on every read.) A reader thread's cached reference keeps
// the last map it saw alive until its next refused() after a change, or until it exits.
// Writers are serialised by writer_mutex_, but a caller that persists the returned map must still
// serialise change-and-save itself, or the file may lag the memory.
//
// Precision: entries carry whole seconds (since/until truncated to the second), the precision of
// the state file, so a map saved and loaded again compares equal to snapshot().
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace mla::tenant {

// Wall-clock time (disabled-until is a calendar time shown to operators and kept across restarts).
// Must be callable from any thread.
using WallClock = std::function<std::chrono::system_clock::time_point()>;

struct DisabledTenant {
  std::string reason;                                          // may be empty
  std::chrono::system_clock::time_point since;                 // when it was disabled
  std::optional<std::chrono::system_clock::time_point> until;  // nullopt = until enabled
  bool operator==(const DisabledTenant&) const = default;
};
using DisabledMap = std::map<std::string, DisabledTenant, std::less<>>;

class TenantSwitch {
 public:
  explicit TenantSwitch(WallClock now = [] { return std::chrono::system_clock::now(); });
  TenantSwitch(const TenantSwitch&) = delete;
  TenantSwitch& operator=(const TenantSwitch&) = delete;

  // Hot path, any thread, never blocks on the writer: nullopt when `tenant` may send; else the
  // seconds the client should wait (Retry-After): until the expiry (rounded up, at least 1), or
  // kIndefiniteRetryAfter when there is no expiry. An entry whose `until` has passed (until <= now)
  // counts as enabled.
  std::optional<std::int64_t> refused(std::string_view tenant) const;
  static constexpr std::int64_t kIndefiniteRetryAfter = 60;
  // Longest accepted disable duration (100 years): `until` must stay within the state file's
  // years (to 2199) and the nanosecond time_point's range (to 2262).
  static constexpr std::chrono::seconds kMaxDuration = std::chrono::hours(24 * 365 * 100);

  // Writer side. Each returns the new full map (expired entries dropped on the way) so the caller
  // can persist it. disable() on an already disabled tenant replaces its entry: new reason, new
  // until and `since` = now. Throws std::invalid_argument for an invalid tenant ID (DESIGN.md §5)
  // or a duration outside (0, kMaxDuration]; the map is then unchanged.
  DisabledMap disable(std::string_view tenant, std::string reason,
                      std::optional<std::chrono::seconds> duration);
  // Enabling a tenant that is not disabled is not an error (the map comes back unchanged); an
  // invalid tenant ID throws std::invalid_argument, as for disable().
  DisabledMap enable(std::string_view tenant);
  // Installs a loaded or rolled-back map as is (expired entries are kept until expire()).
  void replace(DisabledMap map);
  // Drops expired entries; returns true if any were dropped (the caller then persists).
  bool expire();
  DisabledMap snapshot() const;  // current entries, expired ones excluded
  std::chrono::system_clock::time_point now() const;

 private:
  // The published map (any thread; takes publish_mutex_).
  std::shared_ptr<const DisabledMap> published() const;
  // The published map as this thread last saw it, refreshed if version_ moved (reader side).
  // The reference is valid until this thread's next call.
  const DisabledMap& reader_view() const;
  // Publishes `map` (writer side, under writer_mutex_).
  void publish(DisabledMap map);

  const WallClock now_;     // immutable; called from every thread
  const std::uint64_t id_;  // unique per switch: keys the per-thread reader cache
  mutable std::mutex publish_mutex_;
  // Guarded by publish_mutex_: written by publish(), copied by any thread. Never null.
  std::shared_ptr<const DisabledMap> map_;
  // Bumped by publish() under publish_mutex_ after map_ changes; read by every thread.
  std::atomic<std::uint64_t> version_{1};
  // Entries in *map_ (expired ones included); stored after map_ so a reader that sees 0 may
  // skip the map. Written by publish(), read by every thread.
  std::atomic<std::size_t> size_{0};
  std::mutex writer_mutex_;  // serialises disable/enable/replace/expire
};

}  // namespace mla::tenant
