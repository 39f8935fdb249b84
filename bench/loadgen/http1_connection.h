// One HTTP/1.1 client connection of mla-loadgen, plain or TLS: one exchange at a time, opened
// (and re-opened after the server closed it) by the mode driving it. Owned by its IoThread (or a
// handshake-mode worker) and touched only on that thread.
#pragma once

#include <boost/asio/ssl/stream.hpp>
#include <cstddef>
#include <optional>

#include "bench/loadgen/client_connection.h"
#include "bench/loadgen/request.h"
#include "bench/loadgen/tls_client.h"
#include "gateway/common/asio.h"

namespace mla::bench {

class Http1Connection final : public ClientConnection {
 public:
  // `tls` is nullptr for --plain; `index` picks the tenant certificate.
  Http1Connection(asio::any_io_executor executor, tcp::endpoint endpoint, ClientTls* tls,
                  std::size_t index);
  Http1Connection(const Http1Connection&) = delete;
  Http1Connection& operator=(const Http1Connection&) = delete;

  awaitable<Failure> open() override;
  // Sends the request (one gather write: head + body) and reads one response. The connection is
  // closed after an I/O error or a response without keep-alive.
  awaitable<Exchange> exchange(const RequestTemplate& request) override;
  void close() override;

  bool is_open() const override { return open_; }
  bool ever_opened() const override { return ever_opened_; }
  const error_code& last_error() const override { return last_error_; }

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
