// One HTTP/2 client connection of mla-loadgen (--http2): TCP connect, TLS handshake offering
// ALPN h2 only, then an H2Session carrying up to --streams exchanges at once. Re-opened, like an
// HTTP/1.1 connection, once the server closed it or sent GOAWAY; streams still running on the
// old session finish there. Several workers share one connection, so a second worker finding
// it being opened waits for that open (is_opening / wait_opened) instead of opening it again.
// Owned by its IoThread (or a handshake-mode worker) and touched only on that thread.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <memory>

#include "bench/loadgen/client_connection.h"
#include "bench/loadgen/h2_session.h"
#include "bench/loadgen/tls_client.h"

namespace mla::bench {

class H2Connection final : public ClientConnection {
 public:
  // `tls` (not nullptr: h2 is negotiated by ALPN) must offer only h2; `index` picks the tenant
  // certificate.
  H2Connection(asio::any_io_executor executor, tcp::endpoint endpoint, ClientTls* tls,
               std::size_t index);
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  // Fails with Failure::kTls and H2Error::kAlpnNotSelected when the server does not select h2.
  awaitable<Failure> open() override;
  awaitable<Exchange> exchange(const RequestTemplate& request) override;
  void close() override;

  bool is_open() const override { return session_ && session_->usable(); }
  bool ever_opened() const override { return ever_opened_; }
  const error_code& last_error() const override { return last_error_; }
  bool is_opening() const override { return opening_; }
  awaitable<bool> wait_opened() override;

 private:
  awaitable<Failure> connect();

  asio::any_io_executor executor_;
  tcp::endpoint endpoint_;
  ClientTls* tls_config_;  // not owned; outlives every connection
  std::size_t index_;
  std::shared_ptr<H2Session> session_;  // nullptr before the first open() and after close()
  bool opening_ = false;
  // Never expires; waiters of an open in progress wait on it, cancel() releases them all.
  asio::steady_timer open_done_;
  bool ever_opened_ = false;
  error_code last_error_;
};

}  // namespace mla::bench
