#include "gateway/tenant/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

#include "gateway/tenant/tenant_mapper.h"

namespace mla::tenant {

namespace {

using nlohmann::json;
using std::chrono::system_clock;

constexpr int kVersion = 1;
// Timestamps outside [1970, 2200) are rejected: the bound keeps them inside the nanosecond
// system_clock::time_point range (which ends in 2262) with margin.
constexpr int kMinYear = 1970;
constexpr int kMaxYear = 2199;

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
  throw std::runtime_error("state_file " + path + ": " + reason);
}

// For system call failures; `err` is the errno captured right after the call.
[[noreturn]] void fail_errno(const std::string& path, const std::string& step, int err) {
  fail(path, step + ": " + std::generic_category().message(err));
}

// nlohmann's messages start with "[json.exception.<kind>.<id>] "; the rest is one line.
std::string json_message(const json::exception& error) {
  const std::string_view what = error.what();
  const std::size_t end = what.find("] ");
  return std::string(end == std::string_view::npos ? what : what.substr(end + 2));
}

// A JSON value for an error message: one line, at most ~80 characters.
std::string show(const json& value) {
  constexpr std::size_t kMax = 80;
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

std::string format_timestamp(system_clock::time_point at) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(at);
  const auto days = std::chrono::floor<std::chrono::days>(seconds);
  const std::chrono::year_month_day date{days};
  const std::chrono::hh_mm_ss time{seconds - days};
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()));
  return text;
}

bool in_range(system_clock::time_point at) {
  const auto year = std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(at)}.year();
  return year >= std::chrono::year{kMinYear} && year <= std::chrono::year{kMaxYear};
}

// Exactly YYYY-MM-DDTHH:MM:SSZ (the form format_timestamp writes), a real calendar date.
std::optional<system_clock::time_point> parse_timestamp(std::string_view text) {
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != 'Z') {
    return std::nullopt;
  }
  bool digits = true;
  auto number = [&](std::size_t pos, std::size_t len) {
    int value = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
      if (text[i] < '0' || text[i] > '9') digits = false;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  const int year = number(0, 4), month = number(5, 2), day = number(8, 2);
  const int hour = number(11, 2), minute = number(14, 2), second = number(17, 2);
  if (!digits || year < kMinYear || year > kMaxYear || hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year{year},
                                         std::chrono::month{static_cast<unsigned>(month)},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days{date} + std::chrono::hours{hour} + std::chrono::minutes{minute} +
         std::chrono::seconds{second};
}

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  // Closes now and returns close()'s result (for writes, close can report a deferred error).
  int close() { return ::close(std::exchange(fd_, -1)); }

 private:
  int fd_;
};

// The file's contents, or nullopt when it does not exist.
std::optional<std::string> read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail_errno(path, "open", errno);
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) fail_errno(path, "stat", errno);
  if (!S_ISREG(info.st_mode)) fail(path, "not a regular file");
  std::string text;
  char buffer[16384];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno(path, "read", errno);
    if (n == 0) break;
    if (text.size() + static_cast<std::size_t>(n) > kMaxStateFileBytes) {
      fail(path, "larger than " + std::to_string(kMaxStateFileBytes) + " bytes");
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

void check_keys(const std::string& path, const std::string& where, const json& object,
                std::initializer_list<std::string_view> known) {
  for (const auto& item : object.items()) {
    bool found = false;
    for (std::string_view key : known) found = found || item.key() == key;
    if (!found) fail(path, where + "unknown key " + show(json(item.key())));
  }
}

system_clock::time_point decode_timestamp(const std::string& path, const std::string& where,
                                          const json& value) {
  std::optional<system_clock::time_point> at;
  if (value.is_string()) at = parse_timestamp(value.get_ref<const std::string&>());
  if (!at) {
    fail(path, where + ": " + show(value) +
                   " is not a UTC timestamp YYYY-MM-DDTHH:MM:SSZ (years 1970-2199)");
  }
  return *at;
}

DisabledMap decode(const std::string& path, const json& document) {
  if (!document.is_object()) fail(path, "top level: expected an object");
  check_keys(path, "top level: ", document, {"version", "disabled"});
  const auto version = document.find("version");
  if (version == document.end()) fail(path, "version: missing");
  if (!version->is_number_integer() || *version != kVersion) {
    fail(path, "version: " + show(*version) + " is not supported (expected 1)");
  }
  const auto list = document.find("disabled");
  if (list == document.end()) fail(path, "disabled: missing");
  if (!list->is_array()) fail(path, "disabled: expected an array");

  DisabledMap disabled;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& item = (*list)[i];
    const std::string where = "disabled[" + std::to_string(i) + "]";
    if (!item.is_object()) fail(path, where + ": expected an object");
    check_keys(path, where + ": ", item, {"tenant", "reason", "since", "until"});

    const auto tenant = item.find("tenant");
    if (tenant == item.end()) fail(path, where + ".tenant: missing");
    if (!tenant->is_string()) fail(path, where + ".tenant: expected a string");
    const std::string& name = tenant->get_ref<const std::string&>();
    if (!is_valid_tenant_id(name)) fail(path, where + ".tenant: " + show(*tenant) + " is invalid");
    if (disabled.contains(name)) fail(path, where + ".tenant: " + show(*tenant) + " is repeated");

    DisabledTenant entry;
    if (const auto reason = item.find("reason"); reason != item.end()) {
      if (!reason->is_string()) fail(path, where + ".reason: expected a string");
      entry.reason = reason->get<std::string>();
    }
    const auto since = item.find("since");
    if (since == item.end()) fail(path, where + ".since: missing");
    entry.since = decode_timestamp(path, where + ".since", *since);
    if (const auto until = item.find("until"); until != item.end() && !until->is_null()) {
      entry.until = decode_timestamp(path, where + ".until", *until);
    }
    disabled.emplace(name, std::move(entry));
  }
  return disabled;
}

std::string encode(const std::string& path, const DisabledMap& disabled) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& [tenant, entry] : disabled) {
    const std::string quoted = show(json(tenant));
    if (!is_valid_tenant_id(tenant)) fail(path, "tenant " + quoted + " is invalid");
    if (!in_range(entry.since) || (entry.until && !in_range(*entry.until))) {
      fail(path, "tenant " + quoted + ": timestamp outside years 1970-2199");
    }
    try {
      (void)json(entry.reason).dump();
    } catch (const json::type_error& error) {
      fail(path, "tenant " + quoted + ": reason: " + json_message(error));
    }
    list.push_back({{"tenant", tenant},
                    {"reason", entry.reason},
                    {"since", format_timestamp(entry.since)},
                    {"until", entry.until ? nlohmann::ordered_json(format_timestamp(*entry.until))
                                          : nlohmann::ordered_json(nullptr)}});
  }
  nlohmann::ordered_json document = {{"version", kVersion}, {"disabled", std::move(list)}};
  return document.dump(2) + "\n";
}

// Removes the temp file on scope exit unless release()d (after the rename consumed it).
class TempFileGuard {
 public:
  explicit TempFileGuard(std::string path) : path_(std::move(path)) {}
  ~TempFileGuard() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  void release() { path_.clear(); }

 private:
  std::string path_;
};

}  // namespace

DisabledMap load_state_file(const std::string& path) {
  const std::optional<std::string> text = read_file(path);
  if (!text) return {};
  // nlohmann's lexer takes a NUL byte for the end of input: what follows it would be ignored.
  if (text->find('\0') != std::string::npos) fail(path, "not valid JSON: contains a NUL byte");
  json document;
  try {
    document = json::parse(*text);
  } catch (const json::parse_error& error) {
    fail(path, "not valid JSON: " + json_message(error));
  }
  return decode(path, document);
}

void save_state_file(const std::string& path, const DisabledMap& disabled) {
  const std::string text = encode(path, disabled);
  std::string directory = std::filesystem::path(path).parent_path().string();
  if (directory.empty()) directory = ".";
  const std::string temp = path + ".tmp." + std::to_string(::getpid());

  // O_TRUNC, not O_EXCL: a temp left by a crashed process with the same PID (PID 1 in a
  // container) must not block every later save. O_NOFOLLOW: never write through a planted link.
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) fail_errno(path, "create " + temp, errno);
  TempFileGuard guard(temp);
  // The mode given to open() applies only to a new file, and the umask may narrow it.
  if (::fchmod(fd.get(), 0600) != 0) fail_errno(path, "chmod " + temp, errno);
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno(path, "write " + temp, errno);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) fail_errno(path, "fsync " + temp, errno);
  if (fd.close() != 0) fail_errno(path, "close " + temp, errno);
  if (::rename(temp.c_str(), path.c_str()) != 0) fail_errno(path, "rename " + temp, errno);
  guard.release();

  // Makes the rename itself durable.
  UniqueFd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) fail_errno(path, "open directory " + directory, errno);
  if (::fsync(dir.get()) != 0) fail_errno(path, "fsync directory " + directory, errno);
}

}  // namespace mla::tenant
