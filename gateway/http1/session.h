// One HTTP/1.1 connection after the TLS handshake: a coroutine loop reading requests with
// deadlines (idle, header, body), applying the data-plane rules of DESIGN.md §4 and forwarding
// through the worker's upstream pools. Lives on one worker thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/common/asio.h"
#include "gateway/proxy/upstream_connection.h"
#include "gateway/server/request_pipeline.h"
#include "gateway/server/worker.h"
#include "gateway/tls/tls_socket.h"

namespace mla::http1 {

using TlsStream = tls::TlsSocket;

// Largest request header block accepted (431 beyond).
inline constexpr std::uint32_t kMaxHeaderBytes = 64 * 1024;

class Http1Session : public server::IdleConnection, public server::BodyReader {
 public:
  Http1Session(server::Worker& worker, TlsStream& stream, server::ConnectionInfo info);
  ~Http1Session() override;

  awaitable<void> run();
  void close_idle() override;
  std::string_view body_tenant() const override { return info_.tenant.tenant; }
  void refuse_mid_body() override;

 private:
  using HeaderParser = http::request_parser<http::empty_body>;
  using Response = http::response<http::string_body>;

  awaitable<bool> wait_for_request(bool first);
  // Handles one request whose header has been read; returns whether to keep the connection.
  awaitable<bool> handle(HeaderParser& header_parser);
  struct BodyResult {
    std::optional<proxy::UpstreamRequest> request;  // none: the connection failed (logged)
    http::status reject = http::status::ok;         // else answer this, with `reason`
    std::string reason;
  };
  // Reads the body of the request whose header was parsed, bounded by max_body.
  awaitable<BodyResult> read_body(HeaderParser& header_parser, std::uint64_t max_body);
  awaitable<bool> send(Response& response, bool keep_alive);
  awaitable<void> discard_unread_body();
  // Sends the gateway's own answer; a disabled tenant's connection is closed after it.
  awaitable<bool> reject(const http::request_header<>& request, const server::Refusal& refusal,
                         bool keep_alive, std::string_view route);

  server::Worker& worker_;       // owns this session's thread
  TlsStream& stream_;            // owned by serve_connection's frame, outlives the session
  server::ConnectionInfo info_;  // the tenant is re-mapped after a reload changed the rules
  server::RequestPipeline pipeline_;
  beast::flat_buffer buffer_;      // bytes read ahead of the current parser position
  bool idle_ = false;              // waiting for the first byte of the next request
  bool unread_body_ = false;       // the last request was answered before its body was read
  bool refused_mid_body_ = false;  // the tenant was disabled while its body was being read
};

}  // namespace mla::http1
