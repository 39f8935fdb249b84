#include "gateway/common/logging.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

namespace mla::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::atomic<Format> g_format{Format::kLogfmt};

std::string_view level_name(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) >= 0x7f)
      return true;
  }
  return false;
}

// Escapes for both logfmt quoted values and JSON strings (the same rules suffice for both).
void append_escaped(std::string& out, std::string_view v) {
  for (char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
}

void append_logfmt(std::string& out, std::string_view key, std::string_view value) {
  if (!out.empty()) out += ' ';
  out += key;
  out += '=';
  if (needs_quotes(value)) {
    out += '"';
    append_escaped(out, value);
    out += '"';
  } else {
    out += value;
  }
}

void append_json(std::string& out, std::string_view key, std::string_view value) {
  out += out.size() > 1 ? ",\"" : "\"";
  append_escaped(out, key);
  out += "\":\"";
  append_escaped(out, value);
  out += '"';
}

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03d}Z",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(now)),
                     static_cast<int>(ms.count()));
}

}  // namespace

bool parse_level(std::string_view name, Level& out) {
  if (name == "debug")
    out = Level::kDebug;
  else if (name == "info")
    out = Level::kInfo;
  else if (name == "warn")
    out = Level::kWarn;
  else if (name == "error")
    out = Level::kError;
  else
    return false;
  return true;
}

bool parse_format(std::string_view name, Format& out) {
  if (name == "logfmt")
    out = Format::kLogfmt;
  else if (name == "json")
    out = Format::kJson;
  else
    return false;
  return true;
}

void init(Level level, Format format) {
  g_level = level;
  g_format = format;
  // Logs go to stderr, one preformatted line per event.
  auto logger = spdlog::stderr_logger_mt("mla");
  logger->set_pattern("%v");
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

bool enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }

std::string render(Format format, Level level, std::string_view msg, Fields fields) {
  std::string out;
  if (format == Format::kJson) {
    out = "{";
    append_json(out, "level", level_name(level));
    append_json(out, "msg", msg);
    for (const auto& [k, v] : fields) append_json(out, k, v);
    out += '}';
  } else {
    append_logfmt(out, "level", level_name(level));
    append_logfmt(out, "msg", msg);
    for (const auto& [k, v] : fields) append_logfmt(out, k, v);
  }
  return out;
}

void write(Level level, std::string_view msg, Fields fields) {
  if (!enabled(level)) return;
  Format format = g_format.load(std::memory_order_relaxed);
  std::string body = render(format, level, msg, fields);
  std::string line;
  if (format == Format::kJson) {
    line = fmt::format("{{\"ts\":\"{}\",{}", timestamp(), std::string_view(body).substr(1));
  } else {
    line = fmt::format("ts={} {}", timestamp(), body);
  }
  spdlog::info("{}", line);
}

}  // namespace mla::log
