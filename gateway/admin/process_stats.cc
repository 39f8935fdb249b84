#include "gateway/admin/process_stats.h"

#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace mla::admin {
namespace {

std::optional<std::uint64_t> to_uint(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<std::string> read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  // "pid (comm) state ppid ...": fields are counted after the last ')', field 3 (state) first.
  auto close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::vector<std::string_view> fields;
  std::string_view rest = text.substr(close + 1);
  while (!rest.empty()) {
    auto start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    auto end = rest.find_first_of(" \n");
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  }
  // proc(5) numbers fields from 1: utime 14, stime 15, starttime 22, rss 24.
  auto field = [&](std::size_t number) -> std::optional<std::uint64_t> {
    if (number - 3 >= fields.size()) return std::nullopt;
    return to_uint(fields[number - 3]);
  };
  auto utime = field(14), stime = field(15), starttime = field(22), rss = field(24);
  if (!utime || !stime || !starttime || !rss) return std::nullopt;
  return ProcStat{*utime, *stime, *starttime, *rss};
}

std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat) {
  std::size_t pos = 0;
  while (pos < proc_stat.size()) {
    auto end = proc_stat.find('\n', pos);
    std::string_view line =
        proc_stat.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (line.starts_with("btime ")) return to_uint(line.substr(6));
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return std::nullopt;
}

std::optional<ProcessStats> read_process_stats() {
  auto self = read_file("/proc/self/stat");
  auto system = read_file("/proc/stat");
  if (!self || !system) return std::nullopt;
  auto stat = parse_proc_stat(*self);
  auto boot = parse_boot_time(*system);
  const long ticks = ::sysconf(_SC_CLK_TCK);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (!stat || !boot || ticks <= 0 || page <= 0) return std::nullopt;

  ProcessStats out;
  const auto hz = static_cast<double>(ticks);
  out.cpu_seconds = static_cast<double>(stat->utime_ticks + stat->stime_ticks) / hz;
  out.resident_bytes = stat->rss_pages * static_cast<std::uint64_t>(page);
  out.start_time_seconds =
      static_cast<double>(*boot) + static_cast<double>(stat->starttime_ticks) / hz;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++out.open_fds;  // includes the descriptor of this listing, as client_golang does
  }
  return out;
}

}  // namespace mla::admin
