#include "bench/loadgen/http1_connection.h"

#include <boost/asio/write.hpp>

#include "bench/loadgen/dial.h"

namespace mla::bench {

Http1Connection::Http1Connection(asio::any_io_executor executor, tcp::endpoint endpoint,
                                 ClientTls* tls, std::size_t index)
    : executor_(std::move(executor)),
      endpoint_(std::move(endpoint)),
      tls_config_(tls),
      index_(index) {}

awaitable<Failure> Http1Connection::open() {
  close();
  beast::tcp_stream stream(executor_);
  stream.expires_after(kConnectTimeout);
  if (const error_code error = co_await connect_tcp(stream, endpoint_)) {
    last_error_ = error;
    co_return Failure::kConnect;
  }
  if (tls_config_ == nullptr) {
    plain_.emplace(std::move(stream));
  } else {
    tls_.emplace(std::move(stream), tls_config_->context());
    tls_->next_layer().expires_after(kConnectTimeout);
    if (const error_code error = co_await handshake_tls(*tls_, *tls_config_, index_)) {
      last_error_ = error;
      close();
      co_return Failure::kTls;
    }
  }
  open_ = true;
  ever_opened_ = true;
  co_return Failure::kNone;
}

awaitable<Exchange> Http1Connection::exchange(const RequestTemplate& request) {
  Exchange result;
  if (!open_) {
    result.failure = Failure::kIo;
    result.error = asio::error::not_connected;
    co_return result;
  }
  error_code ec;
  tcp().expires_after(kRequestTimeout);
  if (plain_) {
    std::tie(ec, std::ignore) = co_await asio::async_write(*plain_, request.buffers(), kUseTuple);
  } else {
    std::tie(ec, std::ignore) = co_await asio::async_write(*tls_, request.buffers(), kUseTuple);
  }
  if (!ec) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxResponseBody);
    tcp().expires_after(kRequestTimeout);
    if (plain_) {
      std::tie(ec, std::ignore) = co_await http::async_read(*plain_, buffer_, parser, kUseTuple);
    } else {
      std::tie(ec, std::ignore) = co_await http::async_read(*tls_, buffer_, parser, kUseTuple);
    }
    if (!ec) {
      result.status = parser.get().result_int();
      result.keep_alive = parser.get().keep_alive();
    }
  }
  if (ec) {
    last_error_ = ec;
    result.failure = Failure::kIo;
    result.error = ec;
  }
  if (!result.keep_alive) close();
  co_return result;
}

void Http1Connection::close() {
  if (plain_ || tls_) {
    // No TLS close_notify: the peer sees the TCP close, as after a client crash or a timeout.
    error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().close();
  }
  tls_.reset();
  plain_.reset();
  buffer_.clear();
  open_ = false;
}

}  // namespace mla::bench
