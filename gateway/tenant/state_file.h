// The admin `state_file` (DESIGN.md §3 `admin`, §6): disabled tenants survive restarts.
//
// Format, JSON, written pretty-printed (indent 2, trailing newline) with mode 0600:
//   {"version": 1, "disabled": [{"tenant": "cluster-a", "reason": "abuse",
//     "since": "2026-11-25T19:00:00Z", "until": "2026-11-25T20:00:00Z"}]}
// `until` is null when indefinite. Timestamps are RFC 3339 in UTC with `Z` and whole seconds
// (exactly YYYY-MM-DDTHH:MM:SSZ, years 1970-2199); sub-second parts are truncated on save. When
// loading, "reason" may be omitted (empty) and "until" may be omitted (null); unknown keys,
// duplicate tenants and invalid tenant IDs (DESIGN.md §5) are errors, so a typo is never read as
// "disabled forever". Plain functions, no shared state: thread-safe for different paths.
#pragma once

#include <cstddef>
#include <string>

#include "gateway/tenant/tenant_switch.h"

namespace mla::tenant {

// Loads the state file. A missing file is an empty map (first start). Anything else that is
// wrong (unreadable, not JSON, wrong shape, bad timestamp, invalid tenant name) throws
// std::runtime_error("state_file <path>: <one-line reason>") — never silently ignored.
DisabledMap load_state_file(const std::string& path);

// Writes atomically: <path>.tmp.<pid> in the same directory, write all, fsync, rename over path,
// fsync the directory. Throws std::runtime_error("state_file <path>: <step>: <strerror>") and
// leaves the old file intact on any failure (and removes the temp file). The one exception is
// the final directory fsync: if it fails the new file is already in place (the error still
// throws, as the rename may not be durable). A map that could not be loaded back (an invalid
// tenant ID, a reason that is not UTF-8) throws "state_file <path>: <reason>" before anything
// is written.
void save_state_file(const std::string& path, const DisabledMap& disabled);

// Largest state file load_state_file() reads (~50,000 disabled tenants with long reasons: 16 MiB).
inline constexpr std::size_t kMaxStateFileBytes = std::size_t{16} << 20;

}  // namespace mla::tenant
