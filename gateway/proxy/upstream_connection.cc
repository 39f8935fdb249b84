#include "gateway/proxy/upstream_connection.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

namespace mla::proxy {

UpstreamConnection::UpstreamConnection(beast::tcp_stream tcp) : plain_(std::move(tcp)) {}

UpstreamConnection::UpstreamConnection(asio::ssl::context& tls, beast::tcp_stream tcp)
    : tls_(std::in_place, std::move(tcp), tls) {}

beast::tcp_stream& UpstreamConnection::tcp() { return plain_ ? *plain_ : tls_->next_layer(); }

awaitable<std::unique_ptr<UpstreamConnection>> UpstreamConnection::connect(
    const config::UpstreamConfig& upstream, asio::ssl::context* tls, error_code& ec) {
  auto executor = co_await asio::this_coro::executor;
  // Names are re-resolved on every new connection so DNS changes (pod restarts) are followed.
  tcp::resolver resolver(executor);
  auto [rec, endpoints] =
      co_await resolver.async_resolve(upstream.host, std::to_string(upstream.port), kUseTuple);
  if (rec) {
    ec = rec;
    co_return nullptr;
  }
  beast::tcp_stream stream(executor);
  stream.expires_after(upstream.connect_timeout);
  auto [cec, endpoint] = co_await stream.async_connect(endpoints, kUseTuple);
  if (cec) {
    ec = cec;
    co_return nullptr;
  }
  stream.socket().set_option(tcp::no_delay(true));
  std::unique_ptr<UpstreamConnection> conn;
  if (tls == nullptr) {
    conn.reset(new UpstreamConnection(std::move(stream)));
  } else {
    conn.reset(new UpstreamConnection(*tls, std::move(stream)));
    const std::string& sni =
        upstream.tls.server_name.empty() ? upstream.host : upstream.tls.server_name;
    SSL* ssl = conn->tls_->native_handle();
    SSL_set_tlsext_host_name(ssl, sni.c_str());
    SSL_set1_host(ssl, sni.c_str());  // verify the certificate names the upstream
    conn->tcp().expires_after(upstream.connect_timeout);
    auto [hec] = co_await conn->tls_->async_handshake(asio::ssl::stream_base::client, kUseTuple);
    if (hec) {
      ec = hec;
      co_return nullptr;
    }
  }
  ec = {};
  co_return conn;
}

awaitable<error_code> UpstreamConnection::write(UpstreamRequest& request,
                                                std::chrono::milliseconds timeout,
                                                std::size_t& bytes) {
  tcp().expires_after(timeout);
  error_code ec;
  if (plain_) {
    std::tie(ec, bytes) = co_await http::async_write(*plain_, request, kUseTuple);
  } else {
    std::tie(ec, bytes) = co_await http::async_write(*tls_, request, kUseTuple);
  }
  co_return ec;
}

awaitable<error_code> UpstreamConnection::read(UpstreamResponseParser& parser,
                                               std::chrono::milliseconds timeout,
                                               std::size_t& bytes) {
  tcp().expires_after(timeout);
  error_code ec;
  if (plain_) {
    std::tie(ec, bytes) = co_await http::async_read(*plain_, buffer_, parser, kUseTuple);
  } else {
    std::tie(ec, bytes) = co_await http::async_read(*tls_, buffer_, parser, kUseTuple);
  }
  co_return ec;
}

awaitable<error_code> UpstreamConnection::read_header(StreamingResponseParser& parser,
                                                      std::chrono::milliseconds timeout) {
  tcp().expires_after(timeout);
  error_code ec;
  std::size_t bytes = 0;
  if (plain_) {
    std::tie(ec, bytes) = co_await http::async_read_header(*plain_, buffer_, parser, kUseTuple);
  } else {
    std::tie(ec, bytes) = co_await http::async_read_header(*tls_, buffer_, parser, kUseTuple);
  }
  co_return ec;
}

awaitable<error_code> UpstreamConnection::read_some(StreamingResponseParser& parser,
                                                    std::chrono::milliseconds timeout) {
  // Beast reads at most the buffer's spare capacity (512 bytes at first): without room, a large
  // body would be relayed 512 bytes per read. Given back by idle() when pooled.
  if (buffer_.capacity() < kStreamReadBytes) buffer_.reserve(kStreamReadBytes);
  tcp().expires_after(timeout);
  error_code ec;
  std::size_t bytes = 0;
  if (plain_) {
    std::tie(ec, bytes) = co_await http::async_read_some(*plain_, buffer_, parser, kUseTuple);
  } else {
    std::tie(ec, bytes) = co_await http::async_read_some(*tls_, buffer_, parser, kUseTuple);
  }
  if (ec == http::error::need_buffer) ec = {};
  co_return ec;
}

bool UpstreamConnection::looks_alive() {
  if (buffer_.size() > 0) return false;  // unsolicited bytes: framing is lost
  char byte;
  ssize_t n = ::recv(tcp().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  // n == 0: orderly close; n > 0: unsolicited data (or a TLS close_notify); -1/EAGAIN: alive.
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void UpstreamConnection::idle() {
  idle_since = std::chrono::steady_clock::now();
  if (buffer_.size() == 0) buffer_.shrink_to_fit();  // an idle connection holds no read buffer
}

void UpstreamConnection::close() {
  error_code ignored;
  tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
  tcp().close();
}

}  // namespace mla::proxy
