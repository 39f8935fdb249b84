// One HTTP/1.1 connection to an upstream, plain or TLS. Owned by an UpstreamPool (idle) or by the
// request currently using it; touched only on its worker's thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "gateway/common/asio.h"
#include "gateway/config/config.h"
#include "gateway/proxy/request_body.h"

namespace mla::proxy {

using UpstreamResponseParser = http::response_parser<http::string_body>;
// For responses relayed as they arrive (the read listener): the body goes through a caller's
// buffer, never whole into memory.
using StreamingResponseParser = http::response_parser<http::buffer_body>;

class UpstreamConnection {
 public:
  // Read size while streaming a response body (read_some).
  static constexpr std::size_t kStreamReadBytes = 64 * 1024;

  // Connects (resolve + TCP connect + TLS handshake when `tls` is set) within the upstream's
  // connect_timeout. Returns the connection or sets `ec`.
  static awaitable<std::unique_ptr<UpstreamConnection>> connect(
      const config::UpstreamConfig& upstream, asio::ssl::context* tls, error_code& ec);

  // Writes the request / reads one response, each within `timeout`. `bytes` reports how much
  // of the request went out (a retry is safe only when it is 0).
  awaitable<error_code> write(UpstreamRequest& request, std::chrono::milliseconds timeout,
                              std::size_t& bytes);
  awaitable<error_code> read(UpstreamResponseParser& parser, std::chrono::milliseconds timeout,
                             std::size_t& bytes);
  // Streaming: the response header, then body bytes into the parser's buffer_body (as much as
  // arrived; http::error::need_buffer when the buffer is full is not an error), each within
  // `timeout`.
  awaitable<error_code> read_header(StreamingResponseParser& parser,
                                    std::chrono::milliseconds timeout);
  awaitable<error_code> read_some(StreamingResponseParser& parser,
                                  std::chrono::milliseconds timeout);

  // True when the peer has not closed the connection and sent nothing unsolicited (a
  // non-blocking peek); an idle pooled connection that fails this is discarded.
  bool looks_alive();
  // Going into the pool: stamps idle_since and frees the read buffer.
  void idle();
  void close();

  std::chrono::steady_clock::time_point idle_since;

 private:
  explicit UpstreamConnection(beast::tcp_stream tcp);
  UpstreamConnection(asio::ssl::context& tls, beast::tcp_stream tcp);
  beast::tcp_stream& tcp();

  // Exactly one of the two is set.
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;  // bytes read past the end of a response, kept for the next one
};

}  // namespace mla::proxy
