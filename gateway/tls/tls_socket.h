// A server-side TLS connection on which OpenSSL reads and writes the socket itself (SSL_set_fd),
// while Asio only waits for readiness. Compared with asio::ssl::stream's memory-BIO pair this
// skips two copies of every byte (socket -> Asio buffer -> BIO -> OpenSSL) and, with
// SSL_MODE_RELEASE_BUFFERS, lets an idle connection hold no record buffers at all. It is an Asio
// AsyncReadStream/AsyncWriteStream, so Beast's HTTP algorithms run on it unchanged, and it carries
// a deadline like beast::tcp_stream::expires_after. One read and one write may be pending at once.
#pragma once

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>

#include "gateway/common/asio.h"

namespace mla::tls {

class TlsSocket {
 public:
  // Writes of buffers smaller than this are gathered into one record (one TLS record's payload).
  static constexpr std::size_t kGatherLimit = 16 * 1024;

  using executor_type = asio::any_io_executor;

  // Takes ownership of the connected socket; `context` is the listener's (shared, read-only).
  TlsSocket(tcp::socket socket, SSL_CTX* context);
  ~TlsSocket();
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  executor_type get_executor() { return state_->socket.get_executor(); }
  SSL* native_handle() const { return ssl_.get(); }
  tcp::socket& socket() { return state_->socket; }

  // Operations pending or started after this fail with beast::error::timeout once `timeout` has
  // passed (the socket is cancelled), until the next expires_after/expires_never.
  void expires_after(std::chrono::steady_clock::duration timeout);
  void expires_never();

  awaitable<error_code> handshake();
  // Sends close_notify without waiting for the peer's (as nginx does), then shuts down writes.
  awaitable<void> shutdown();
  // Waits until a read would make progress, without holding a buffer while waiting: idle
  // keep-alive connections then cost no read buffer. An async operation, not a coroutine, so an
  // idle connection carries no extra coroutine frames. Signature: void(error_code).
  template <typename Token>
  auto async_wait_readable(Token&& token);

  template <typename MutableBufferSequence, typename Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token);
  template <typename ConstBufferSequence, typename Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token);

 private:
  enum class Want { kNothing, kRead, kWrite };
  struct Attempt {
    error_code ec;
    std::size_t bytes = 0;
    Want want = Want::kNothing;  // wait for this readiness, then try again
  };
  // Socket and deadline timer live in shared state so that a timer handler that runs after the
  // TlsSocket is gone still finds them.
  struct State {
    explicit State(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
    tcp::socket socket;
    asio::steady_timer timer;
    bool timed_out = false;
  };
  struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };
  template <typename Buffers, bool kRead>
  class IoOp;
  class WaitReadableOp;

  // One non-blocking attempt; reads fill `data` with as many records as are ready.
  Attempt try_read(void* data, std::size_t size);
  Attempt try_write(const void* data, std::size_t size);
  template <typename Call>
  Attempt transfer(std::size_t size, Call call);
  Attempt try_handshake();
  // Per-thread scratch of kGatherLimit bytes for write_attempt (used synchronously only).
  static char* gather_buffer();
  // The error for a readiness wait that failed: a timeout if the deadline cancelled it.
  error_code wait_error(const error_code& ec) const;
  awaitable<error_code> wait(Want want);

  std::shared_ptr<State> state_;
  std::unique_ptr<SSL, SslFree> ssl_;
};

// Runs try_read/try_write, waiting for readiness in between. Completes through a post when no wait
// was needed: Asio forbids completing inside the initiating call, and Beast's loops rely on it.
template <typename Buffers, bool kRead>
class TlsSocket::IoOp {
 public:
  IoOp(TlsSocket& socket, const Buffers& buffers) : socket_(socket), buffers_(buffers) {}

  template <typename Self>
  void operator()(Self& self) {
    if (finished_) return self.complete(result_.ec, result_.bytes);
    if (socket_.state_->timed_out) return finish_posted(self, {beast::error::timeout, 0});
    attempt(self);
  }

  template <typename Self>
  void operator()(Self& self, error_code ec) {
    if (ec) return self.complete(socket_.wait_error(ec), 0);
    waited_ = true;
    attempt(self);
  }

 private:
  template <typename Self>
  void attempt(Self& self) {
    Attempt result;
    if constexpr (kRead) {
      result = read_attempt();
    } else {
      result = write_attempt();
    }
    if (result.want == Want::kRead) {
      return socket_.state_->socket.async_wait(tcp::socket::wait_read, std::move(self));
    }
    if (result.want == Want::kWrite) {
      return socket_.state_->socket.async_wait(tcp::socket::wait_write, std::move(self));
    }
    if (!waited_) return finish_posted(self, result);
    self.complete(result.ec, result.bytes);
  }

  // Fills the first non-empty buffer, as a socket read does.
  Attempt read_attempt() {
    for (auto it = asio::buffer_sequence_begin(buffers_); it != asio::buffer_sequence_end(buffers_);
         ++it) {
      asio::mutable_buffer buffer = *it;
      if (buffer.size() > 0) return socket_.try_read(buffer.data(), buffer.size());
    }
    return {};
  }

  // A large buffer (a body) is written in place; small ones (Beast gives one per header line)
  // are gathered into one TLS record instead of a record and a syscall each.
  Attempt write_attempt() {
    auto it = asio::buffer_sequence_begin(buffers_);
    const auto end = asio::buffer_sequence_end(buffers_);
    while (it != end && asio::const_buffer(*it).size() == 0) ++it;
    if (it == end) return {};
    const asio::const_buffer first = *it;
    if (first.size() >= kGatherLimit) return socket_.try_write(first.data(), first.size());
    char* gathered = gather_buffer();
    std::size_t used = 0;
    for (; it != end && used < kGatherLimit; ++it) {
      const asio::const_buffer buffer = *it;
      const std::size_t n = std::min(buffer.size(), kGatherLimit - used);
      std::memcpy(gathered + used, buffer.data(), n);
      used += n;
    }
    return socket_.try_write(gathered, used);
  }

  template <typename Self>
  void finish_posted(Self& self, Attempt result) {
    finished_ = true;
    result_ = result;
    asio::post(std::move(self));
  }

  TlsSocket& socket_;
  Buffers buffers_;
  Attempt result_;
  bool waited_ = false;
  bool finished_ = false;
};

class TlsSocket::WaitReadableOp {
 public:
  explicit WaitReadableOp(TlsSocket& socket) : socket_(socket) {}

  template <typename Self>
  void operator()(Self& self) {
    if (posted_) return self.complete(result_);
    // Bytes already inside OpenSSL never show up as socket readiness.
    if (SSL_has_pending(socket_.ssl_.get()) || socket_.state_->timed_out) {
      posted_ = true;
      result_ = socket_.state_->timed_out ? error_code(beast::error::timeout) : error_code{};
      return asio::post(std::move(self));
    }
    socket_.state_->socket.async_wait(tcp::socket::wait_read, std::move(self));
  }

  template <typename Self>
  void operator()(Self& self, error_code ec) {
    self.complete(socket_.wait_error(ec));
  }

 private:
  TlsSocket& socket_;
  error_code result_;
  bool posted_ = false;
};

template <typename Token>
auto TlsSocket::async_wait_readable(Token&& token) {
  return asio::async_compose<Token, void(error_code)>(WaitReadableOp(*this), token, state_->socket);
}

template <typename MutableBufferSequence, typename Token>
auto TlsSocket::async_read_some(const MutableBufferSequence& buffers, Token&& token) {
  return asio::async_compose<Token, void(error_code, std::size_t)>(
      IoOp<MutableBufferSequence, true>(*this, buffers), token, state_->socket);
}

template <typename ConstBufferSequence, typename Token>
auto TlsSocket::async_write_some(const ConstBufferSequence& buffers, Token&& token) {
  return asio::async_compose<Token, void(error_code, std::size_t)>(
      IoOp<ConstBufferSequence, false>(*this, buffers), token, state_->socket);
}

}  // namespace mla::tls
