#include "gateway/read/read_session.h"

#include <fmt/format.h>

#include <vector>

#include "gateway/admin/admin_auth.h"
#include "gateway/common/logging.h"
#include "gateway/common/metrics.h"
#include "gateway/http1/header_policy.h"
#include "gateway/proxy/router.h"
#include "gateway/read/read_tenant.h"
#include "gateway/tls/tls_socket.h"

namespace mla::read {
namespace {

// Request headers beyond this are answered 431, as on the write listener.
constexpr std::uint32_t kMaxHeaderBytes = 64 * 1024;
// The relay buffer: the most of a response held in memory at once, per request.
constexpr std::size_t kRelayChunk = 64 * 1024;

std::string status_text(http::status status) { return std::to_string(static_cast<int>(status)); }

void count_rejected(server::Worker& worker, std::string_view tenant, common::RejectReason reason) {
  if (tenant.empty()) return;  // no tenant to charge it to
  worker.shared().tenants.of(tenant).rejected[static_cast<std::size_t>(reason)].fetch_add(
      1, std::memory_order_relaxed);
}

// Closing a connection: TLS sends close_notify first; plain TCP shuts down writes.
awaitable<void> finish(beast::tcp_stream& stream) {
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  co_return;
}
awaitable<void> finish(tls::TlsSocket& stream) {
  stream.expires_after(std::chrono::seconds(1));
  co_await stream.shutdown();
}

}  // namespace

template <typename Stream>
ReadSession<Stream>::ReadSession(server::Worker& worker, Stream& stream, std::string remote)
    : worker_(worker), stream_(stream), remote_(std::move(remote)) {}

template <typename Stream>
ReadSession<Stream>::~ReadSession() {
  if (idle_) worker_.remove_idle(this);
}

template <typename Stream>
void ReadSession<Stream>::close_idle() {
  if (!idle_) return;
  error_code ignored;
  stream_.socket().cancel(ignored);  // the pending header read ends with operation_aborted
}

template <typename Stream>
awaitable<void> ReadSession<Stream>::run() {
  bool first = true;
  while (!worker_.draining() || first) {
    const auto& server = worker_.runtime()->config->server;
    Parser parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(server.max_request_body_bytes);
    // A kept-alive connection may idle for idle_timeout; a new one must send its request promptly.
    stream_.expires_after(first ? server.read_header_timeout : server.idle_timeout);
    idle_ = buffer_.size() == 0;
    if (idle_) worker_.add_idle(this);
    auto [ec, n] = co_await http::async_read_header(stream_, buffer_, parser, kUseTuple);
    if (idle_) worker_.remove_idle(this);
    idle_ = false;
    first = false;
    if (ec) {
      if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message) {
        http::request_header<> none;
        none.version(11);
        co_await reject(none,
                        ec == http::error::header_limit
                            ? http::status::request_header_fields_too_large
                            : http::status::bad_request,
                        fmt::format("malformed request header: {}", ec.message()), false, "", "");
      }
      break;
    }
    if (!co_await handle(parser)) break;
  }
  co_await finish(stream_);
}

template <typename Stream>
awaitable<bool> ReadSession<Stream>::reject(const http::request_header<>& request,
                                            http::status status, std::string_view reason,
                                            bool keep_alive, std::string_view tenant,
                                            std::string_view route,
                                            std::int64_t retry_after_seconds) {
  http::response<http::string_body> response{status, request.version()};
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.body() = fmt::format("{}\n", reason);
  if (retry_after_seconds > 0) {
    response.set(http::field::retry_after, std::to_string(retry_after_seconds));
  }
  if (status == http::status::unauthorized) {
    response.set(http::field::www_authenticate, "Bearer realm=\"mla-gateway read\"");
  }
  log::warn("read request rejected", {{"remote", remote_},
                                      {"tenant", tenant},
                                      {"route", route},
                                      {"method", request.method_string()},
                                      {"path", proxy::target_path(request.target())},
                                      {"status", status_text(status)},
                                      {"reason", reason}});
  common::request_metrics().count_request(
      tenant.empty() ? common::RequestMetrics::kNoTenant : tenant,
      route.empty() ? common::RequestMetrics::kNoRoute : route, response.result_int());
  response.keep_alive(keep_alive && !worker_.draining());
  response.prepare_payload();
  stream_.expires_after(worker_.runtime()->config->server.request_timeout);
  auto [ec, n] = co_await http::async_write(stream_, response, kUseTuple);
  co_return !ec && response.keep_alive();
}

template <typename Stream>
awaitable<bool> ReadSession<Stream>::handle(Parser& parser) {
  auto runtime = worker_.runtime();  // one snapshot for the whole request
  const config::Config& config = *runtime->config;
  const auto& request = parser.get();
  // A refusal leaves the connection open only if no unread body would follow.
  const bool has_body = parser.chunked() || parser.content_length().value_or(0) > 0;
  const bool keep_after_reject = parser.keep_alive() && !has_body;

  if (!config.read.token.empty() &&
      !admin::bearer_token_matches(request[http::field::authorization], config.read.token)) {
    co_return co_await reject(request, http::status::unauthorized,
                              request.count(http::field::authorization) == 0
                                  ? "authorization required: Authorization: Bearer <read token>"
                                  : "invalid read token",
                              keep_after_reject, "", "");
  }
  const tenant::TenantResult tenant = read_tenant(config, request);
  if (!tenant.ok()) {
    co_return co_await reject(request, http::status::forbidden, tenant.error, keep_after_reject, "",
                              "");
  }
  if (auto retry = worker_.shared().switches.refused(tenant.tenant)) {
    count_rejected(worker_, tenant.tenant, common::RejectReason::kDisabled);
    co_return co_await reject(request, static_cast<http::status>(config.limits.disabled_status),
                              fmt::format("tenant {} is disabled", tenant.tenant), false,
                              tenant.tenant, "", *retry);
  }
  const config::RouteConfig* route = proxy::match_route(config.read.routes, request.target());
  if (route == nullptr) {
    co_return co_await reject(
        request, http::status::not_found,
        fmt::format("no read route for path {}", proxy::target_path(request.target())),
        keep_after_reject, tenant.tenant, "");
  }
  ratelimit::LimitDecision decision =
      worker_.shared().limiter.charge(tenant.tenant, ratelimit::Signal::kQueries, {});
  if (!decision.admitted) {
    count_rejected(worker_, tenant.tenant, common::RejectReason::kRateLimited);
    co_return co_await reject(
        request, static_cast<http::status>(config.limits.limited_status),
        fmt::format("tenant {} is over its query limit ({:g} requests/s, burst {:g})",
                    tenant.tenant, decision.rate_per_second, decision.burst),
        keep_after_reject, tenant.tenant, route->path, decision.retry_after_seconds);
  }
  if (auto length = parser.content_length();
      length && *length > config.server.max_request_body_bytes) {
    count_rejected(worker_, tenant.tenant, common::RejectReason::kTooLarge);
    co_return co_await reject(
        request, http::status::payload_too_large,
        fmt::format("request body of {} bytes exceeds max_request_body_bytes ({})", *length,
                    config.server.max_request_body_bytes),
        false, tenant.tenant, route->path);
  }
  if (!parser.is_done()) {
    stream_.expires_after(config.server.request_timeout);
    auto [ec, n] = co_await http::async_read(stream_, buffer_, parser, kUseTuple);
    if (ec == http::error::body_limit) {
      count_rejected(worker_, tenant.tenant, common::RejectReason::kTooLarge);
      co_return co_await reject(request, http::status::payload_too_large,
                                fmt::format("request body exceeds max_request_body_bytes ({})",
                                            config.server.max_request_body_bytes),
                                false, tenant.tenant, route->path);
    }
    if (ec) {
      log::info("read request body not received",
                {{"remote", remote_}, {"tenant", tenant.tenant}, {"reason", ec.message()}});
      co_return false;
    }
  }
  proxy::UpstreamRequest upstream_request = parser.release();
  co_return co_await forward(upstream_request, tenant.tenant, *route);
}

template <typename Stream>
awaitable<bool> ReadSession<Stream>::forward(proxy::UpstreamRequest& request,
                                             const std::string& tenant,
                                             const config::RouteConfig& route) {
  auto runtime = worker_.runtime();
  const config::Config& config = *runtime->config;
  common::RequestTimer timer(common::request_metrics());
  timer.set_route(route.path);
  const bool client_keep_alive = request.keep_alive();
  const unsigned client_version = request.version();
  const bool is_head = request.method() == http::verb::head;

  std::shared_ptr<proxy::UpstreamPool> pool = worker_.pool(*runtime, route.upstream);
  const auto& upstream = pool->config();
  const std::string original_target(request.target());
  request.target(upstream.base_path + proxy::rewrite_target(route, original_target));
  http1::prepare_upstream_headers(request, config.tenant.header, tenant,
                                  fmt::format("{}:{}", upstream.host, upstream.port));
  // The read token is the gateway's; it is not passed on.
  if (!config.read.token.empty()) request.erase(http::field::authorization);
  request.version(11);
  request.keep_alive(true);
  request.prepare_payload();

  const auto forwarded_at = std::chrono::steady_clock::now();
  proxy::OpenedResponse opened = co_await pool->open(request, is_head);
  if (!opened.connection) {
    common::request_metrics().count_upstream(upstream.name, 0,
                                             opened.error_status == http::status::gateway_timeout,
                                             std::chrono::steady_clock::now() - forwarded_at);
    request.version(client_version);
    co_return co_await reject(request, opened.error_status, opened.error, client_keep_alive, tenant,
                              route.path);
  }

  proxy::StreamingResponseParser& parser = *opened.parser;
  auto& response = parser.get();
  const unsigned status = response.result_int();
  const bool upstream_keep_alive = response.keep_alive();
  const bool known_length = parser.content_length().has_value();
  http1::strip_hop_by_hop(response.base());
  response.version(client_version);
  bool keep_alive = client_keep_alive && !worker_.draining();
  if (!parser.is_done() && !known_length) {
    // Chunked or close-delimited upstream body: chunked to an HTTP/1.1 client, else the end of
    // the connection marks the end of the body.
    if (client_version >= 11) {
      response.chunked(true);
    } else {
      keep_alive = false;
    }
  }
  response.keep_alive(keep_alive);

  // Beast's relay pattern: the parser fills `chunk`, the serializer sends what it holds.
  std::vector<char> chunk(kRelayChunk);
  http::response_serializer<http::buffer_body> serializer{response};
  std::uint64_t relayed = 0;
  bool ok = true;
  do {
    if (!parser.is_done()) {
      response.body().data = chunk.data();
      response.body().size = chunk.size();
      error_code ec = co_await opened.connection->read_some(parser, upstream.timeout);
      if (ec) {
        log::warn("read response cut off: upstream failed mid-body",
                  {{"remote", remote_},
                   {"tenant", tenant},
                   {"upstream", upstream.name},
                   {"relayed_bytes", std::to_string(relayed)},
                   {"error", ec.message()}});
        ok = false;
        break;
      }
      const std::size_t filled = chunk.size() - response.body().size;
      // Nothing new (e.g. only a chunk header arrived): a zero-length buffer must not reach the
      // serializer, which would write it as the terminating chunk.
      if (filled == 0 && !parser.is_done()) continue;
      response.body().data = filled == 0 ? nullptr : chunk.data();
      response.body().size = filled;
      response.body().more = !parser.is_done();
      relayed += filled;
    } else {
      response.body().data = nullptr;
      response.body().size = 0;
      response.body().more = false;
    }
    stream_.expires_after(config.server.request_timeout);
    auto [ec, n] = co_await http::async_write(stream_, serializer, kUseTuple);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      log::info("read response not delivered: client gone",
                {{"remote", remote_}, {"tenant", tenant}, {"error", ec.message()}});
      ok = false;
      break;
    }
  } while (!parser.is_done() || !serializer.is_done());

  common::request_metrics().count_upstream(upstream.name, status, false,
                                           std::chrono::steady_clock::now() - forwarded_at);
  common::request_metrics().count_request(tenant, route.path, status);
  pool->release(std::move(opened.connection), ok && parser.is_done() && upstream_keep_alive);
  log::debug("read request", {{"remote", remote_},
                              {"tenant", tenant},
                              {"route", route.path},
                              {"upstream", upstream.name},
                              {"target", original_target},
                              {"status", std::to_string(status)},
                              {"bytes", std::to_string(relayed)}});
  co_return ok&& keep_alive;
}

template class ReadSession<beast::tcp_stream>;
template class ReadSession<tls::TlsSocket>;

}  // namespace mla::read
