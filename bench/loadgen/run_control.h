// The timeline of a run, shared by the controlling (main) thread and the io threads: the
// connect phase, the warmup, the measured window and its end (a deadline, the Nth counted
// request, or SIGINT/SIGTERM). Which completions count is decided here, by completion time, so
// every thread applies the same rule.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace mla::bench {

using Clock = std::chrono::steady_clock;

class RunControl {
 public:
  // `max_requests` 0: no request bound.
  explicit RunControl(std::uint64_t max_requests) : max_requests_(max_requests) {}

  // Controller, before any worker starts (workers are spawned afterwards, which publishes the
  // values to their threads). `end` may be Clock::time_point::max().
  void set_window(Clock::time_point start, Clock::time_point measure_start, Clock::time_point end);
  Clock::time_point start() const { return start_; }
  Clock::time_point measure_start() const { return measure_start_; }
  Clock::time_point end() const { return end_; }

  // Io threads: whether a request completed at `done` counts (inside [measure_start, end) and
  // within the request bound). The completion that reaches the bound ends the run.
  bool count(Clock::time_point done);

  // Io threads: this thread's connect phase is over, with `established` connections open.
  void thread_ready(std::uint64_t established);
  // Controller: waits until `threads` threads are ready; false if interrupted first.
  bool wait_threads_ready(int threads);
  std::uint64_t established() const;

  // Controller: sleeps until `when`; false if interrupted first.
  bool sleep_until(Clock::time_point when);
  // Controller: waits for the end of the measured window; returns when it ended (the deadline,
  // the completion time of the last counted request, or the moment of the interrupt).
  Clock::time_point wait_for_end();

  // Any thread (signal handler): ends waits early.
  void interrupt();
  bool interrupted() const;

 private:
  const std::uint64_t max_requests_;
  Clock::time_point start_{};
  Clock::time_point measure_start_{};
  Clock::time_point end_ = Clock::time_point::max();
  std::atomic<std::uint64_t> counted_{0};  // only used with a request bound

  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_.
  bool bound_reached_ = false;
  Clock::time_point last_done_{};
  bool interrupted_ = false;
  int ready_threads_ = 0;
  std::uint64_t established_ = 0;
};

}  // namespace mla::bench
