#include "bench/loadgen/runner.h"

#include <sys/resource.h>

#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <iostream>
#include <memory>
#include <vector>

#include "bench/loadgen/io_thread.h"
#include "bench/loadgen/modes.h"
#include "bench/loadgen/run_control.h"

namespace mla::bench {
namespace {

double cpu_seconds_now() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double seconds_between(Clock::time_point from, Clock::time_point to) {
  return to > from ? std::chrono::duration<double>(to - from).count() : 0.0;
}

// Says why nothing could be measured, with the first error (e.g. "the server did not select
// ALPN h2") so that a wrong setup is obvious without reading the JSON.
void report_no_connection(const Options& options, const Stats& stats) {
  std::cerr << "mla-loadgen: no connection to " << options.target << " could be established";
  for (const std::string& error : stats.first_error) {
    if (!error.empty()) {
      std::cerr << ": " << error;
      break;
    }
  }
  std::cerr << "\n";
}

}  // namespace

int run_load(const Options& options, const Body& body, ClientTls* tls, RunResult& result) {
  const RequestTemplate request(options, body, /*close=*/false);
  const RequestTemplate close_request(options, body, /*close=*/true);
  RunControl control(options.requests);
  const LoadPlan plan{.options = options,
                      .request = request,
                      .close_request = close_request,
                      .endpoint = tcp::endpoint(options.address, options.port),
                      .tls = tls,
                      .control = control,
                      .threads = options.threads};

  std::vector<std::unique_ptr<IoThread>> threads;
  for (int i = 0; i < options.threads; ++i) {
    threads.push_back(std::make_unique<IoThread>(i));
    if (options.mode != Mode::kHandshake) create_connections(*threads.back(), plan);
  }
  for (auto& thread : threads) thread->start();
  // SIGINT/SIGTERM end the run early; the results so far are still reported. Declared after
  // `threads`, so it is destroyed while its io_context still exists.
  asio::signal_set signals(threads.front()->context(), SIGINT, SIGTERM);
  signals.async_wait([&control](const error_code& ec, int) {
    if (!ec) control.interrupt();
  });
  auto finish = [&](int code) {
    signals.cancel();
    for (auto& thread : threads) thread->stop();
    for (auto& thread : threads) result.stats.merge(thread->stats);
    result.interrupted = control.interrupted();
    return code;
  };

  if (options.mode != Mode::kHandshake) {
    for (auto& thread : threads) start_connect_phase(*thread, plan);
    if (!control.wait_threads_ready(options.threads)) return finish(0);
    result.established = control.established();
    if (result.established == 0) {
      const int code = finish(1);
      report_no_connection(options, result.stats);
      return code;
    }
  }

  if (options.mode == Mode::kIdle) {
    std::cout << "idle: " << result.established << " connections established" << std::endl;
    const Clock::time_point start = Clock::now();
    const double cpu_start = cpu_seconds_now();
    control.sleep_until(start + options.hold);
    result.measured_seconds = seconds_between(start, Clock::now());
    result.cpu_seconds = cpu_seconds_now() - cpu_start;
    return finish(0);
  }

  const Clock::time_point start = Clock::now();
  const Clock::time_point measure_start = start + options.warmup;
  const Clock::time_point end =
      options.duration.count() > 0 ? measure_start + options.duration : Clock::time_point::max();
  control.set_window(start, measure_start, end);
  for (auto& thread : threads) start_workers(*thread, plan);
  if (!control.sleep_until(measure_start)) return finish(0);
  const double cpu_start = cpu_seconds_now();
  const Clock::time_point measured_end = control.wait_for_end();
  result.cpu_seconds = cpu_seconds_now() - cpu_start;
  result.measured_seconds = seconds_between(measure_start, measured_end);
  const int code = finish(0);
  if (options.mode == Mode::kHandshake && result.stats.established == 0) {
    report_no_connection(options, result.stats);
    return 1;
  }
  return code;
}

}  // namespace mla::bench
