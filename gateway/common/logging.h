// Structured logging on top of spdlog: one line per event, logfmt (default) or JSON.
//   log::warn("request rejected", {{"tenant", t}, {"reason", "forbidden"}});
// Thread-safe (spdlog's multi-threaded sink); formatting happens on the calling thread.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace mla::log {

enum class Format { kLogfmt, kJson };
enum class Level { kDebug, kInfo, kWarn, kError };

using Field = std::pair<std::string_view, std::string_view>;
using Fields = std::initializer_list<Field>;

// Returns false for an unknown level/format name.
bool parse_level(std::string_view name, Level& out);
bool parse_format(std::string_view name, Format& out);
void init(Level level, Format format);
bool enabled(Level level);

// Renders one event (without timestamp) — exposed for tests.
std::string render(Format format, Level level, std::string_view msg, Fields fields);

void write(Level level, std::string_view msg, Fields fields = {});
inline void debug(std::string_view msg, Fields f = {}) { write(Level::kDebug, msg, f); }
inline void info(std::string_view msg, Fields f = {}) { write(Level::kInfo, msg, f); }
inline void warn(std::string_view msg, Fields f = {}) { write(Level::kWarn, msg, f); }
inline void error(std::string_view msg, Fields f = {}) { write(Level::kError, msg, f); }

}  // namespace mla::log
