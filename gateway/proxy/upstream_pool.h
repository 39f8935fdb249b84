// Keep-alive connection pool for one upstream on one worker (thread-per-core: no locks; only the
// owning worker's thread touches it). forward() sends one request and maps failures to the
// gateway's answers of DESIGN.md §4: refused/reset/unreachable -> 502, timeout -> 504.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "gateway/common/asio.h"
#include "gateway/config/config.h"
#include "gateway/proxy/upstream_connection.h"

namespace mla::proxy {

// Largest upstream response body the write path buffers (Cortex/Loki answer a few bytes).
inline constexpr std::uint64_t kMaxUpstreamResponseBytes = 64 * config::kMiB;
// Idle connections older than this are not reused: upstream idle timeouts may have closed them.
inline constexpr std::chrono::seconds kMaxIdleAge{50};

struct ForwardResult {
  std::optional<http::response<http::string_body>> response;  // set when the upstream answered
  http::status error_status = http::status::bad_gateway;      // otherwise 502 or 504
  std::string error;                                          // one-line reason
};

// The upstream's answer to a streamed request: the header is parsed, the body is still on the
// connection for the caller to relay (read listener).
struct OpenedResponse {
  std::unique_ptr<UpstreamConnection> connection;         // set when the upstream answered
  std::unique_ptr<StreamingResponseParser> parser;        // likewise: header read, body not yet
  http::status error_status = http::status::bad_gateway;  // otherwise 502 or 504
  std::string error;                                      // one-line reason
};

class UpstreamPool {
 public:
  // `tls` (shared, read-only) is null for http upstreams.
  UpstreamPool(config::UpstreamConfig config, std::shared_ptr<asio::ssl::context> tls);

  // Sends `request` (target, headers and body final) and reads the answer. A pooled connection
  // found dead before any byte of the request went out is retried once on a fresh connection.
  awaitable<ForwardResult> forward(UpstreamRequest& request, bool is_head);
  // Like forward(), but reads only the response header; the body is left on the connection.
  // Hand the connection back with release() once the body has been read (or abandoned).
  awaitable<OpenedResponse> open(UpstreamRequest& request, bool is_head);
  // `reusable`: the whole response was read and both sides keep the connection alive.
  void release(std::unique_ptr<UpstreamConnection> conn, bool reusable);

  const config::UpstreamConfig& config() const { return config_; }
  std::size_t idle_count() const { return idle_.size(); }
  void close_idle();

 private:
  struct Sent {
    std::unique_ptr<UpstreamConnection> connection;  // null: failed, see error
    error_code ec;
    std::string_view what;  // "connect", "write", or "" after two lost connections
  };
  // Writes `request` on a pooled or new connection, retrying once on a fresh connection when a
  // pooled one turns out dead before any byte went out.
  awaitable<Sent> send(UpstreamRequest& request);
  std::unique_ptr<UpstreamConnection> take_idle();
  void give_back(std::unique_ptr<UpstreamConnection> conn);

  const config::UpstreamConfig config_;
  const std::shared_ptr<asio::ssl::context> tls_;
  std::deque<std::unique_ptr<UpstreamConnection>> idle_;  // most recently used at the back
};

}  // namespace mla::proxy
