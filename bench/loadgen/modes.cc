#include "bench/loadgen/modes.h"

#include <algorithm>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "bench/loadgen/h2_connection.h"
#include "bench/loadgen/http1_connection.h"

namespace mla::bench {
namespace {

// Pause after a failed connect before the same worker tries again, so a server that is down
// is not hammered by a busy loop.
constexpr std::chrono::milliseconds kRetryBackoff{100};
// Connections of one thread being opened at once in the connect phase (bounds the SYN burst).
constexpr std::size_t kConnectConcurrency = 64;

// Share of `total` items that thread `index` of `threads` gets when item i goes to i % threads.
int share_of(int total, int index, int threads) {
  return total / threads + (index < total % threads ? 1 : 0);
}

std::uint64_t micros_between(Clock::time_point from, Clock::time_point to) {
  if (to <= from) return 0;
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(to - from).count());
}

// Books one finished exchange: a failure (or refusal) always, a response only inside the
// measured window.
void book(IoThread& thread, const LoadPlan& plan, const Exchange& exchange,
          Clock::time_point latency_from) {
  if (exchange.refused) {
    ++thread.stats.refused;
    return;
  }
  if (exchange.failure != Failure::kNone) {
    thread.stats.count_failure(exchange.failure, exchange.error);
    return;
  }
  const Clock::time_point done = Clock::now();
  if (plan.control.count(done)) {
    thread.stats.count_response(exchange.status, micros_between(latency_from, done));
  }
}

// Connection `index` of the run (it presents tenant certificate index % tenants).
std::unique_ptr<ClientConnection> make_connection(const LoadPlan& plan,
                                                  asio::any_io_executor executor,
                                                  std::size_t index) {
  if (plan.options.http2) {
    return std::make_unique<H2Connection>(std::move(executor), plan.endpoint, plan.tls, index);
  }
  return std::make_unique<Http1Connection>(std::move(executor), plan.endpoint, plan.tls, index);
}

// Opens `connection` if it is not open; false (failure counted) if that failed. With HTTP/2,
// another worker may be opening it already: then this one waits for that open, which that
// worker counts.
awaitable<bool> ensure_open(IoThread& thread, ClientConnection& connection) {
  if (connection.is_open()) co_return true;
  if (connection.is_opening()) co_return co_await connection.wait_opened();
  const bool reconnect = connection.ever_opened();
  const Failure failure = co_await connection.open();
  if (failure != Failure::kNone) {
    thread.stats.count_failure(failure, connection.last_error());
    co_return false;
  }
  ++thread.stats.established;
  if (reconnect) ++thread.stats.reconnects;
  co_return true;
}

awaitable<void> pause(asio::steady_timer& timer, std::chrono::milliseconds how_long) {
  timer.expires_after(how_long);
  co_await timer.async_wait(kUseTuple);
}

// --- connect phase ------------------------------------------------------------------------

struct ConnectPhase {
  std::size_t next = 0;     // next connection to open
  std::size_t running = 0;  // openers not finished yet
  std::uint64_t established = 0;
};

awaitable<void> opener(IoThread& thread, const LoadPlan& plan,
                       std::shared_ptr<ConnectPhase> phase) {
  // Closed and open mode send one uncounted request on each new connection: servers time out a
  // connection that has sent no request yet much sooner (read_header_timeout, nginx's
  // client_header_timeout) than an idle keep-alive one, and with --tenants 10000 the connect
  // phase alone can outlast those timeouts. Idle mode sends nothing.
  const bool prime = plan.options.mode != Mode::kIdle;
  while (phase->next < thread.connections.size()) {
    ClientConnection& connection = *thread.connections[phase->next++];
    const Failure failure = co_await connection.open();
    if (failure != Failure::kNone) {
      thread.stats.count_failure(failure, connection.last_error());
      continue;
    }
    ++phase->established;
    ++thread.stats.established;
    if (prime) {
      const Exchange exchange = co_await connection.exchange(plan.request);
      if (exchange.refused) {
        ++thread.stats.refused;
      } else {
        thread.stats.count_failure(exchange.failure, exchange.error);
      }
    }
  }
  if (--phase->running == 0) plan.control.thread_ready(phase->established);
}

// --- closed -------------------------------------------------------------------------------

awaitable<void> closed_worker(IoThread& thread, const LoadPlan& plan) {
  asio::steady_timer backoff(thread.executor());
  for (;;) {
    // Never empty: a thread has at least as many stream slots as workers.
    ClientConnection* connection = thread.free_connections.front();
    thread.free_connections.pop_front();
    if (!co_await ensure_open(thread, *connection)) {
      thread.free_connections.push_back(connection);
      co_await pause(backoff, kRetryBackoff);
      continue;
    }
    const Clock::time_point sent = Clock::now();
    const Exchange exchange = co_await connection->exchange(plan.request);
    book(thread, plan, exchange, sent);
    thread.free_connections.push_back(connection);
  }
}

// --- open ---------------------------------------------------------------------------------

awaitable<void> open_worker(IoThread& thread, const LoadPlan& plan, ClientConnection& connection) {
  asio::steady_timer timer(thread.executor());
  const double nanos_per_request = 1e9 / plan.options.rate;
  for (;;) {
    // Requests k = index, index + threads, ... belong to this thread, taken in order by
    // whichever of its workers is free first.
    const std::uint64_t k = thread.next_index;
    thread.next_index += static_cast<std::uint64_t>(plan.threads);
    const Clock::time_point intended =
        plan.control.start() + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                   static_cast<double>(k) * nanos_per_request));
    if (intended >= plan.control.end()) co_return;
    if (intended > Clock::now()) {
      timer.expires_at(intended);
      co_await timer.async_wait(kUseTuple);
    }
    if (!co_await ensure_open(thread, connection)) continue;  // this request failed
    const Exchange exchange = co_await connection.exchange(plan.request);
    book(thread, plan, exchange, intended);
  }
}

// --- handshake ----------------------------------------------------------------------------

awaitable<void> handshake_worker(IoThread& thread, const LoadPlan& plan) {
  asio::steady_timer backoff(thread.executor());
  for (;;) {
    // Connection n of the run (over all threads) presents tenant certificate n % tenants.
    const std::uint64_t n = thread.next_index;
    thread.next_index += static_cast<std::uint64_t>(plan.threads);
    const std::unique_ptr<ClientConnection> connection =
        make_connection(plan, thread.executor(), n);
    const Clock::time_point started = Clock::now();
    const Failure failure = co_await connection->open();
    if (failure != Failure::kNone) {
      thread.stats.count_failure(failure, connection->last_error());
      if (failure == Failure::kConnect) co_await pause(backoff, kRetryBackoff);
      continue;
    }
    ++thread.stats.established;
    const Exchange exchange = co_await connection->exchange(plan.close_request);
    book(thread, plan, exchange, started);
    connection->close();
  }
}

// Runs on `thread` itself, like the openers it spawns.
void spawn_openers(IoThread& thread, const LoadPlan& plan) {
  auto phase = std::make_shared<ConnectPhase>();
  phase->running = std::min(kConnectConcurrency, thread.connections.size());
  if (phase->running == 0) {
    plan.control.thread_ready(0);
    return;
  }
  for (std::size_t i = 0, n = phase->running; i < n; ++i) {
    asio::co_spawn(thread.executor(), opener(thread, plan, phase), asio::detached);
  }
}

// Runs on `thread` itself, so its free list and counters are touched by that thread only.
void spawn_workers(IoThread& thread, const LoadPlan& plan) {
  const Options& options = plan.options;
  thread.next_index = static_cast<std::uint64_t>(thread.index());
  switch (options.mode) {
    case Mode::kClosed: {
      // Slot order 0, 1, .., n-1, 0, 1, ..: the first requests spread over all connections.
      thread.free_connections.clear();
      for (int stream = 0; stream < options.streams; ++stream) {
        for (auto& connection : thread.connections) {
          thread.free_connections.push_back(connection.get());
        }
      }
      const int workers = share_of(options.inflight, thread.index(), plan.threads);
      for (int i = 0; i < workers; ++i) {
        asio::co_spawn(thread.executor(), closed_worker(thread, plan), asio::detached);
      }
      break;
    }
    case Mode::kOpen:
      for (auto& connection : thread.connections) {
        for (int stream = 0; stream < options.streams; ++stream) {
          asio::co_spawn(thread.executor(), open_worker(thread, plan, *connection), asio::detached);
        }
      }
      break;
    case Mode::kHandshake: {
      const int workers = share_of(options.connections, thread.index(), plan.threads);
      for (int i = 0; i < workers; ++i) {
        asio::co_spawn(thread.executor(), handshake_worker(thread, plan), asio::detached);
      }
      break;
    }
    case Mode::kIdle: break;  // the connect phase did all there is to do
  }
}

}  // namespace

void create_connections(IoThread& thread, const LoadPlan& plan) {
  for (int i = thread.index(); i < plan.options.connections; i += plan.threads) {
    thread.connections.push_back(
        make_connection(plan, thread.executor(), static_cast<std::size_t>(i)));
  }
}

void start_connect_phase(IoThread& thread, const LoadPlan& plan) {
  asio::post(thread.executor(), [&thread, &plan] { spawn_openers(thread, plan); });
}

void start_workers(IoThread& thread, const LoadPlan& plan) {
  asio::post(thread.executor(), [&thread, &plan] { spawn_workers(thread, plan); });
}

}  // namespace mla::bench
