// One client connection of mla-loadgen, plain or TLS, opened (and re-opened after the server
// closed it) by the mode driving it. Owned by its IoThread (or a handshake-mode worker) and
// touched only on that thread.
#pragma once

#include <boost/asio/ssl/stream.hpp>
#include <chrono>
#include <cstddef>
#include <optional>

#include "bench/loadgen/request.h"
#include "bench/loadgen/tls_client.h"
#include "gateway/common/asio.h"

namespace mla::bench {

// Which step of a request failed, for the error counters of the report.
enum class Failure { kNone, kConnect, kTls, kIo };

struct Exchange {
  Failure failure = Failure::kNone;
  error_code error;  // set with a failure
  int status = 0;
  bool keep_alive = false;
};

// Deadlines of every I/O step: generous, so a slow server is measured rather than cut off.
inline constexpr std::chrono::seconds kConnectTimeout{10};  // TCP connect + TLS handshake
inline constexpr std::chrono::seconds kRequestTimeout{60};  // write, and then read the response
// A response larger than this is an error (gateway and sinks answer with a few bytes).
inline constexpr std::size_t kMaxResponseBody = 1 << 20;

class Connection {
 public:
  // `tls` is nullptr for --plain; `index` picks the tenant certificate.
  Connection(asio::any_io_executor executor, tcp::endpoint endpoint, ClientTls* tls,
             std::size_t index);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // TCP connect (TCP_NODELAY) and, unless plain, the TLS handshake, within kConnectTimeout.
  // Closes a previous stream first.
  awaitable<Failure> open();
  // Sends the request (one gather write: head + body) and reads one response. The connection is
  // closed after an I/O error or a response without keep-alive.
  awaitable<Exchange> exchange(const RequestTemplate& request);
  void close();

  bool is_open() const { return open_; }
  // True once open() has succeeded: a later open() is a reconnect.
  bool ever_opened() const { return ever_opened_; }
  // The error behind the last Failure, for the report.
  const error_code& last_error() const { return last_error_; }

 private:
  beast::tcp_stream& tcp() { return plain_ ? *plain_ : tls_->next_layer(); }

  asio::any_io_executor executor_;
  tcp::endpoint endpoint_;
  ClientTls* tls_config_;  // not owned; outlives every connection
  std::size_t index_;
  // At most one of the two is set (none before the first open()).
  std::optional<beast::tcp_stream> plain_;
  std::optional<asio::ssl::stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;  // response bytes read ahead, kept for the next response
  bool open_ = false;
  bool ever_opened_ = false;
  error_code last_error_;
};

}  // namespace mla::bench
