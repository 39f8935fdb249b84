#include "gateway/tenant/tenant_switch.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "gateway/tenant/tenant_mapper.h"

namespace mla::tenant {

namespace {

using std::chrono::system_clock;

bool expired(const DisabledTenant& entry, system_clock::time_point now) {
  return entry.until.has_value() && *entry.until <= now;
}

// `map` without the entries expired at `now`.
DisabledMap without_expired(const DisabledMap& map, system_clock::time_point now) {
  DisabledMap current;
  for (const auto& [tenant, entry] : map) {
    if (!expired(entry, now)) current.emplace_hint(current.end(), tenant, entry);
  }
  return current;
}

// Source of TenantSwitch::id_; 0 is never handed out (it marks an empty ReaderCache).
std::atomic<std::uint64_t> g_next_switch_id{1};

// One thread's reference to the map of the switch it last read. One slot: a thread that reads
// several switches in turn (tests) just refreshes more often.
struct ReaderCache {
  std::uint64_t owner = 0;  // TenantSwitch::id_, not an address a later switch could reuse
  std::uint64_t version = 0;
  std::shared_ptr<const DisabledMap> map;
};
thread_local ReaderCache t_reader_cache;

}  // namespace

TenantSwitch::TenantSwitch(WallClock now)
    : now_(std::move(now)),
      id_(g_next_switch_id.fetch_add(1, std::memory_order_relaxed)),
      map_(std::make_shared<const DisabledMap>()) {}

std::optional<std::int64_t> TenantSwitch::refused(std::string_view tenant) const {
  if (size_.load(std::memory_order_acquire) == 0) return std::nullopt;
  const DisabledMap& map = reader_view();
  const auto it = map.find(tenant);
  if (it == map.end()) return std::nullopt;
  const DisabledTenant& entry = it->second;
  if (!entry.until) return kIndefiniteRetryAfter;
  const system_clock::time_point now = now_();
  if (*entry.until <= now) return std::nullopt;
  const auto wait = std::chrono::ceil<std::chrono::seconds>(*entry.until - now);
  return std::max<std::int64_t>(wait.count(), 1);
}

DisabledMap TenantSwitch::disable(std::string_view tenant, std::string reason,
                                  std::optional<std::chrono::seconds> duration) {
  if (!is_valid_tenant_id(tenant)) {
    throw std::invalid_argument("tenant ID \"" + std::string(tenant) + "\" is invalid");
  }
  if (duration && (*duration <= std::chrono::seconds::zero() || *duration > kMaxDuration)) {
    throw std::invalid_argument("disable duration must be between 1s and 100 years");
  }
  std::lock_guard lock(writer_mutex_);
  const system_clock::time_point now = now_();
  DisabledMap map = without_expired(*published(), now);
  const auto since = std::chrono::floor<std::chrono::seconds>(now);
  DisabledTenant entry{std::move(reason), since, std::nullopt};
  if (duration) entry.until = since + *duration;
  map.insert_or_assign(std::string(tenant), std::move(entry));
  publish(map);
  return map;
}

DisabledMap TenantSwitch::enable(std::string_view tenant) {
  if (!is_valid_tenant_id(tenant)) {
    throw std::invalid_argument("tenant ID \"" + std::string(tenant) + "\" is invalid");
  }
  std::lock_guard lock(writer_mutex_);
  DisabledMap map = without_expired(*published(), now_());
  if (const auto it = map.find(tenant); it != map.end()) map.erase(it);
  publish(map);
  return map;
}

void TenantSwitch::replace(DisabledMap map) {
  std::lock_guard lock(writer_mutex_);
  publish(std::move(map));
}

bool TenantSwitch::expire() {
  std::lock_guard lock(writer_mutex_);
  const std::shared_ptr<const DisabledMap> current = published();
  DisabledMap map = without_expired(*current, now_());
  if (map.size() == current->size()) return false;
  publish(std::move(map));
  return true;
}

DisabledMap TenantSwitch::snapshot() const { return without_expired(*published(), now_()); }

system_clock::time_point TenantSwitch::now() const { return now_(); }

std::shared_ptr<const DisabledMap> TenantSwitch::published() const {
  std::lock_guard lock(publish_mutex_);
  return map_;
}

const DisabledMap& TenantSwitch::reader_view() const {
  ReaderCache& cache = t_reader_cache;
  if (cache.owner == id_ && cache.version == version_.load(std::memory_order_acquire)) {
    return *cache.map;
  }
  std::shared_ptr<const DisabledMap> previous;  // if the last reference, freed after unlocking
  {
    std::lock_guard lock(publish_mutex_);
    previous = std::exchange(cache.map, map_);
    cache.version = version_.load(std::memory_order_relaxed);  // the one that goes with map_
    cache.owner = id_;
  }
  return *cache.map;
}

void TenantSwitch::publish(DisabledMap map) {
  const std::size_t size = map.size();
  auto next = std::make_shared<const DisabledMap>(std::move(map));
  {
    std::lock_guard lock(publish_mutex_);
    map_.swap(next);
    version_.fetch_add(1, std::memory_order_release);
  }
  size_.store(size, std::memory_order_release);
  // `next` now holds the previous map; it is freed here, outside the lock, unless a reader
  // thread's cache still refers to it.
}

}  // namespace mla::tenant
