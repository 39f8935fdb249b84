// The process_* metrics of the Prometheus client libraries, read from /proc (Linux only).
// The parsers are pure functions over the file contents, tested without /proc.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace mla::admin {

struct ProcessStats {
  double cpu_seconds = 0;  // user + system CPU time
  std::uint64_t resident_bytes = 0;
  std::uint64_t open_fds = 0;
  double start_time_seconds = 0;  // Unix time
};

// Fields of /proc/<pid>/stat, in clock ticks (utime, stime, starttime since boot) and pages (rss).
struct ProcStat {
  std::uint64_t utime_ticks = 0;
  std::uint64_t stime_ticks = 0;
  std::uint64_t starttime_ticks = 0;
  std::uint64_t rss_pages = 0;
};

// nullopt if the text is not a /proc/<pid>/stat line. The command name may hold spaces and ')'.
std::optional<ProcStat> parse_proc_stat(std::string_view text);
// The "btime" line of /proc/stat (boot time, Unix seconds).
std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat);

// Reads /proc/self/{stat,fd} and /proc/stat; nullopt if they cannot be read. Any thread.
std::optional<ProcessStats> read_process_stats();

}  // namespace mla::admin
