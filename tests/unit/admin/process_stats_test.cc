#include "gateway/admin/process_stats.h"

#include <catch2/catch.hpp>
#include <string>

namespace mla::admin {
namespace {

// Fields 3..24 of proc(5) after "pid (comm)": utime=150 stime=50 starttime=12345 rss=2048.
const std::string kTail =
    " S 1 100 100 0 -1 4194560 500 0 0 0 150 50 0 0 20 0 9 0 12345 123456789 2048 "
    "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

TEST_CASE("/proc/<pid>/stat fields are read after the last ')' of the command name", "[admin]") {
  for (const std::string comm : {"(mla-gateway)", "(a b)", "(x) S 9 9 (y)"}) {
    INFO(comm);
    auto stat = parse_proc_stat("4242 " + comm + kTail);
    REQUIRE(stat);
    CHECK(stat->utime_ticks == 150);
    CHECK(stat->stime_ticks == 50);
    CHECK(stat->starttime_ticks == 12345);
    CHECK(stat->rss_pages == 2048);
  }
}

TEST_CASE("a truncated or non-numeric stat line is refused", "[admin]") {
  CHECK_FALSE(parse_proc_stat(""));
  CHECK_FALSE(parse_proc_stat("1 (x) S 1 2 3"));
  CHECK_FALSE(
      parse_proc_stat("1 (x) S 1 100 100 0 -1 4194560 500 0 0 0 abc 50 0 0 20 0 9 0 1 "
                      "2 3\n"));
}

TEST_CASE("boot time comes from the btime line of /proc/stat", "[admin]") {
  CHECK(parse_boot_time("cpu  1 2 3\nbtime 1700000000\nprocesses 5\n") == 1700000000u);
  CHECK_FALSE(parse_boot_time("cpu  1 2 3\n"));
  CHECK_FALSE(parse_boot_time("btime x\n"));
}

TEST_CASE("this process's own /proc values are plausible", "[admin]") {
  auto stats = read_process_stats();
  REQUIRE(stats);
  CHECK(stats->resident_bytes > 0);
  CHECK(stats->open_fds >= 3);
  CHECK(stats->start_time_seconds > 1.6e9);
  CHECK(stats->cpu_seconds >= 0);
}

}  // namespace
}  // namespace mla::admin
