#include "gateway/tls/tls_socket.h"

#include <openssl/err.h>

#include <array>
#include <cerrno>
#include <stdexcept>

namespace mla::tls {
namespace {

// The error_code asio::ssl::stream would report for the same failure, so callers (and
// classify_handshake_failure) see the same codes as before.
error_code ssl_error(SSL* ssl, int ret) {
  const int code = SSL_get_error(ssl, ret);
  switch (code) {
    case SSL_ERROR_ZERO_RETURN: return asio::error::eof;  // close_notify
    case SSL_ERROR_SYSCALL: {
      const int saved = errno;
      const unsigned long queued = ERR_get_error();
      if (queued != 0) {
        return {static_cast<int>(queued), asio::error::get_ssl_category()};
      }
      if (saved == 0 || saved == EAGAIN) return asio::ssl::error::stream_truncated;
      return {saved, boost::system::system_category()};
    }
    default: {
      const unsigned long queued = ERR_get_error();
      ERR_clear_error();
      // OpenSSL 3 reports a peer that closed without close_notify as an SSL error.
      if (ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        return asio::ssl::error::stream_truncated;
      }
      return {static_cast<int>(queued), asio::error::get_ssl_category()};
    }
  }
}

}  // namespace

TlsSocket::TlsSocket(tcp::socket socket, SSL_CTX* context)
    : state_(std::make_shared<State>(std::move(socket))), ssl_(SSL_new(context)) {
  if (!ssl_) throw std::runtime_error("SSL_new failed");
  error_code ignored;
  state_->socket.non_blocking(true, ignored);
  SSL_set_fd(ssl_.get(), state_->socket.native_handle());
  // Beast may present the rest of a partly written buffer from a new address; writes of a large
  // buffer return per record instead of holding the whole buffer in OpenSSL.
  SSL_set_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_set_accept_state(ssl_.get());
}

TlsSocket::~TlsSocket() {
  error_code ignored;
  state_->timer.cancel();
  state_->socket.close(ignored);
}

void TlsSocket::expires_after(std::chrono::steady_clock::duration timeout) {
  state_->timed_out = false;
  state_->timer.expires_after(timeout);  // cancels the previous wait
  state_->timer.async_wait([state = state_](const error_code& ec) {
    if (ec) return;  // re-armed, cancelled or destroyed
    state->timed_out = true;
    error_code ignored;
    state->socket.cancel(ignored);
  });
}

void TlsSocket::expires_never() {
  state_->timed_out = false;
  state_->timer.cancel();
}

error_code TlsSocket::wait_error(const error_code& ec) const {
  if (ec == asio::error::operation_aborted && state_->timed_out) return beast::error::timeout;
  return ec;
}

// Moves up to `size` bytes with `call(offset, n)` (SSL_read_ex or SSL_write_ex at that offset),
// record after record, until done or OpenSSL must wait. An error that follows data is left for
// the next attempt to report.
template <typename Call>
TlsSocket::Attempt TlsSocket::transfer(std::size_t size, Call call) {
  Attempt result;
  while (result.bytes < size) {
    ERR_clear_error();
    std::size_t n = 0;
    const int ret = call(result.bytes, n);
    if (ret == 1) {
      result.bytes += n;
      continue;
    }
    const int code = SSL_get_error(ssl_.get(), ret);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
      if (result.bytes == 0) result.want = code == SSL_ERROR_WANT_READ ? Want::kRead : Want::kWrite;
    } else if (result.bytes == 0) {
      result.ec = ssl_error(ssl_.get(), ret);
    }
    break;
  }
  return result;
}

TlsSocket::Attempt TlsSocket::try_read(void* data, std::size_t size) {
  auto* out = static_cast<char*>(data);
  return transfer(size, [&](std::size_t offset, std::size_t& n) {
    return SSL_read_ex(ssl_.get(), out + offset, size - offset, &n);
  });
}

TlsSocket::Attempt TlsSocket::try_write(const void* data, std::size_t size) {
  const auto* in = static_cast<const char*>(data);
  return transfer(size, [&](std::size_t offset, std::size_t& n) {
    return SSL_write_ex(ssl_.get(), in + offset, size - offset, &n);
  });
}

char* TlsSocket::gather_buffer() {
  thread_local std::array<char, kGatherLimit> buffer;
  return buffer.data();
}

TlsSocket::Attempt TlsSocket::try_handshake() {
  ERR_clear_error();
  const int ret = SSL_do_handshake(ssl_.get());
  if (ret == 1) return {};
  const int code = SSL_get_error(ssl_.get(), ret);
  if (code == SSL_ERROR_WANT_READ) return {{}, 0, Want::kRead};
  if (code == SSL_ERROR_WANT_WRITE) return {{}, 0, Want::kWrite};
  return {ssl_error(ssl_.get(), ret), 0, Want::kNothing};
}

awaitable<error_code> TlsSocket::wait(Want want) {
  if (state_->timed_out) co_return beast::error::timeout;
  auto [ec] = co_await state_->socket.async_wait(
      want == Want::kRead ? tcp::socket::wait_read : tcp::socket::wait_write, kUseTuple);
  co_return wait_error(ec);
}

awaitable<error_code> TlsSocket::handshake() {
  for (;;) {
    Attempt attempt = try_handshake();
    if (attempt.want == Want::kNothing) co_return attempt.ec;
    if (error_code ec = co_await wait(attempt.want)) co_return ec;
  }
}

awaitable<void> TlsSocket::shutdown() {
  // One attempt: close_notify goes out if the socket takes it; the peer's is not awaited.
  ERR_clear_error();
  if (SSL_is_init_finished(ssl_.get())) SSL_shutdown(ssl_.get());
  ERR_clear_error();
  error_code ignored;
  state_->socket.shutdown(tcp::socket::shutdown_send, ignored);
  co_return;
}

}  // namespace mla::tls
