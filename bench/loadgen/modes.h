// The load patterns of mla-loadgen, as coroutines on one IoThread:
//   connect phase (closed/open/idle): open the thread's connections, a bounded number at a time,
//              and (closed/open) send one uncounted request on each;
//   closed:    each worker sends the next request as soon as the previous answer arrived, taking
//              connections round-robin from the thread's free list (with --http2, a connection
//              is in that list once per stream, so up to --streams workers share it);
//   open:      request k is due at start + k/rate; a free connection's worker takes the next due
//              request and its latency runs from the intended time (no coordinated omission);
//              with --http2 each connection has --streams workers;
//   handshake: every request on a new connection (full handshake), closed after the answer.
// Idle mode is the connect phase alone (nothing sent); the controller then holds the
// connections.
#pragma once

#include "bench/loadgen/io_thread.h"
#include "bench/loadgen/options.h"
#include "bench/loadgen/request.h"
#include "bench/loadgen/run_control.h"
#include "bench/loadgen/tls_client.h"

namespace mla::bench {

// What every worker reads; constant for the whole run.
struct LoadPlan {
  const Options& options;
  const RequestTemplate& request;        // keep-alive request
  const RequestTemplate& close_request;  // handshake mode: with Connection: close (HTTP/1.1)
  tcp::endpoint endpoint;
  ClientTls* tls;  // nullptr: --plain
  RunControl& control;
  int threads;
};

// Creates this thread's share of the --connections (connection i goes to thread i % threads).
void create_connections(IoThread& thread, const LoadPlan& plan);
// Spawns the connect phase on `thread`; it reports to plan.control.thread_ready() when done.
void start_connect_phase(IoThread& thread, const LoadPlan& plan);
// Spawns the workers of plan.options.mode on `thread` (after set_window()).
void start_workers(IoThread& thread, const LoadPlan& plan);

}  // namespace mla::bench
