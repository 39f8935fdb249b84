// What the load patterns (modes.cc) drive: one client connection to the server under test,
// speaking HTTP/1.1 (Http1Connection) or HTTP/2 (H2Connection), opened and re-opened by the
// workers. Owned by its IoThread (or a handshake-mode worker) and touched only on that thread.
#pragma once

#include <chrono>
#include <cstddef>

#include "bench/loadgen/request.h"
#include "gateway/common/asio.h"

namespace mla::bench {

// Which step of a request failed, for the error counters of the report.
enum class Failure { kNone, kConnect, kTls, kIo };

struct Exchange {
  Failure failure = Failure::kNone;
  error_code error;  // set with a failure
  int status = 0;
  bool keep_alive = false;
  // HTTP/2: the server refused the request unprocessed (REFUSED_STREAM, or a stream above the
  // last-stream-id of its GOAWAY), so it is counted as `refused`, not as a failure; the worker
  // sends its next request on the re-opened connection. `failure` is kIo with it.
  bool refused = false;
};

// Deadlines of every I/O step: generous, so a slow server is measured rather than cut off.
inline constexpr std::chrono::seconds kConnectTimeout{10};  // TCP connect + TLS handshake
inline constexpr std::chrono::seconds kRequestTimeout{60};  // write, and then read the response
// A response larger than this is an error (gateway and sinks answer with a few bytes).
inline constexpr std::size_t kMaxResponseBody = 1 << 20;

class ClientConnection {
 public:
  virtual ~ClientConnection() = default;

  // TCP connect (TCP_NODELAY) and, unless plain, the TLS handshake, within kConnectTimeout;
  // HTTP/2 also checks ALPN and sends its connection preface. Closes a previous stream first.
  virtual awaitable<Failure> open() = 0;
  // Sends the request and reads its response. HTTP/1.1: one exchange at a time; HTTP/2: up to
  // --streams at once, each on its own stream. The connection is closed after an I/O error or
  // when the server ends it (no keep-alive, GOAWAY).
  virtual awaitable<Exchange> exchange(const RequestTemplate& request) = 0;
  virtual void close() = 0;

  // Open and able to take a new request.
  virtual bool is_open() const = 0;
  // True once open() has succeeded: a later open() is a reconnect.
  virtual bool ever_opened() const = 0;
  // The error behind the last Failure of open(), for the report.
  virtual const error_code& last_error() const = 0;

  // HTTP/2 only (several workers share one connection): another worker's open() is in progress.
  // wait_opened() waits for it and returns whether the connection is open afterwards; that
  // worker counts the connection (or its failure), so the waiters must not.
  virtual bool is_opening() const { return false; }
  virtual awaitable<bool> wait_opened() { co_return is_open(); }
};

}  // namespace mla::bench
