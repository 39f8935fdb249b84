// Drives one mla-loadgen run from the main thread: starts the io threads, runs the connect
// phase, sets the measured window, waits for its end (or holds idle connections), stops the
// threads and merges what they observed.
#pragma once

#include <cstdint>

#include "bench/loadgen/options.h"
#include "bench/loadgen/request.h"
#include "bench/loadgen/stats.h"
#include "bench/loadgen/tls_client.h"

namespace mla::bench {

struct RunResult {
  Stats stats;                    // merged over the io threads
  double measured_seconds = 0;    // the measured window (idle: the hold)
  double cpu_seconds = 0;         // this process, user + system, during the measured window
  std::uint64_t established = 0;  // connections open after the connect phase
  bool interrupted = false;       // SIGINT/SIGTERM ended the run early
};

// Returns 0 when the run happened (even with error responses), 1 when it could not run at all
// (no connection succeeded); the reason is printed on stderr.
int run_load(const Options& options, const Body& body, ClientTls* tls, RunResult& result);

}  // namespace mla::bench
