#include "bench/loadgen/run_control.h"

namespace mla::bench {

void RunControl::set_window(Clock::time_point start, Clock::time_point measure_start,
                            Clock::time_point end) {
  start_ = start;
  measure_start_ = measure_start;
  end_ = end;
}

bool RunControl::count(Clock::time_point done) {
  if (done < measure_start_ || done >= end_) return false;
  if (max_requests_ == 0) return true;
  const std::uint64_t n = counted_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n > max_requests_) return false;
  if (n == max_requests_) {
    std::lock_guard lock(mu_);
    bound_reached_ = true;
    last_done_ = done;
    cv_.notify_all();
  }
  return true;
}

void RunControl::thread_ready(std::uint64_t established) {
  std::lock_guard lock(mu_);
  ++ready_threads_;
  established_ += established;
  cv_.notify_all();
}

bool RunControl::wait_threads_ready(int threads) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return interrupted_ || ready_threads_ >= threads; });
  return !interrupted_;
}

std::uint64_t RunControl::established() const {
  std::lock_guard lock(mu_);
  return established_;
}

bool RunControl::sleep_until(Clock::time_point when) {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, when, [&] { return interrupted_; });
  return !interrupted_;
}

Clock::time_point RunControl::wait_for_end() {
  std::unique_lock lock(mu_);
  auto done = [&] { return interrupted_ || bound_reached_; };
  if (end_ == Clock::time_point::max()) {
    cv_.wait(lock, done);
  } else {
    cv_.wait_until(lock, end_, done);
  }
  if (bound_reached_) return last_done_;
  if (interrupted_) return std::min(Clock::now(), end_);
  return end_;
}

void RunControl::interrupt() {
  std::lock_guard lock(mu_);
  interrupted_ = true;
  cv_.notify_all();
}

bool RunControl::interrupted() const {
  std::lock_guard lock(mu_);
  return interrupted_;
}

}  // namespace mla::bench
