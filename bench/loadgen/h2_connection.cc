#include "bench/loadgen/h2_connection.h"

#include "bench/loadgen/dial.h"
#include "bench/loadgen/h2_error.h"

namespace mla::bench {

H2Connection::H2Connection(asio::any_io_executor executor, tcp::endpoint endpoint, ClientTls* tls,
                           std::size_t index)
    : executor_(std::move(executor)),
      endpoint_(std::move(endpoint)),
      tls_config_(tls),
      index_(index),
      open_done_(executor_) {}

awaitable<Failure> H2Connection::open() {
  // A session that received GOAWAY is dropped, not closed: its last streams finish on it and it
  // closes itself when nghttp2 has nothing left to do.
  session_.reset();
  opening_ = true;
  open_done_.expires_at(asio::steady_timer::time_point::max());
  const Failure failure = co_await connect();
  opening_ = false;
  open_done_.cancel();
  co_return failure;
}

awaitable<Failure> H2Connection::connect() {
  auto stream = std::make_unique<TlsStream>(executor_, tls_config_->context());
  stream->next_layer().expires_after(kConnectTimeout);
  if (const error_code error = co_await connect_tcp(stream->next_layer(), endpoint_)) {
    last_error_ = error;
    co_return Failure::kConnect;
  }
  stream->next_layer().expires_after(kConnectTimeout);
  if (const error_code error = co_await handshake_tls(*stream, *tls_config_, index_)) {
    last_error_ = error;
    co_return Failure::kTls;
  }
  // Only h2 is offered; a server without HTTP/2 selects nothing (or refuses the handshake).
  if (selected_alpn(*stream) != "h2") {
    last_error_ = make_error(H2Error::kAlpnNotSelected);
    co_return Failure::kTls;
  }
  error_code error;
  session_ = H2Session::start(std::move(stream), error);
  if (!session_) {
    last_error_ = error;
    co_return Failure::kIo;
  }
  ever_opened_ = true;
  co_return Failure::kNone;
}

awaitable<bool> H2Connection::wait_opened() {
  if (opening_) co_await open_done_.async_wait(kUseTuple);
  co_return is_open();
}

awaitable<Exchange> H2Connection::exchange(const RequestTemplate& request) {
  if (!session_) {
    Exchange result;
    result.failure = Failure::kIo;
    result.error = asio::error::not_connected;
    co_return result;
  }
  // Held here too: a reconnect may replace session_ while this stream runs on the old one.
  const std::shared_ptr<H2Session> session = session_;
  co_return co_await session->exchange(request);
}

void H2Connection::close() {
  if (session_) session_->close(asio::error::operation_aborted);
  session_.reset();
}

}  // namespace mla::bench
