#include "gateway/http1/session.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/read.hpp>

#include "gateway/common/logging.h"
#include "gateway/common/metrics.h"
#include "gateway/http1/header_policy.h"
#include "gateway/proxy/admission.h"
#include "gateway/proxy/router.h"

namespace mla::http1 {
namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::chrono::seconds kLingerTotal{5};
constexpr std::chrono::seconds kLingerIdle{2};
constexpr std::size_t kLingerMaxBytes = 64 * 1024 * 1024;

bool expects_continue(const http::request_header<>& request) {
  auto it = request.find(http::field::expect);
  return it != request.end() && beast::iequals(it->value(), "100-continue");
}

std::string status_text(http::status status) { return std::to_string(static_cast<int>(status)); }

// A one-line reason for a header the parser refused.
http::status status_for_parse_error(const error_code& ec) {
  if (ec == http::error::header_limit) return http::status::request_header_fields_too_large;
  return http::status::bad_request;
}

}  // namespace

Http1Session::Http1Session(server::Worker& worker, TlsStream& stream, server::ConnectionInfo info)
    : worker_(worker),
      stream_(stream),
      info_(std::move(info)),
      pipeline_(worker, info_, stream.native_handle()) {}

Http1Session::~Http1Session() {
  if (idle_) worker_.remove_idle(this);
}

void Http1Session::close_idle() {
  if (!idle_) return;
  error_code ignored;
  stream_.socket().cancel(ignored);
}

void Http1Session::refuse_mid_body() {
  refused_mid_body_ = true;
  error_code ignored;
  stream_.socket().cancel(ignored);  // the pending body read completes with operation_aborted
}

awaitable<bool> Http1Session::wait_for_request(bool first) {
  if (buffer_.size() > 0) co_return true;  // pipelined bytes already here
  const auto& server = worker_.runtime()->config->server;
  // A fresh connection must send its request promptly; a kept-alive one may idle longer.
  stream_.expires_after(first ? server.read_header_timeout : server.idle_timeout);
  // Waiting without a buffer: an idle keep-alive connection holds no read buffer (nor, with
  // SSL_MODE_RELEASE_BUFFERS, TLS record buffers).
  buffer_.shrink_to_fit();
  idle_ = true;
  worker_.add_idle(this);
  auto [ec] = co_await stream_.async_wait_readable(kUseTuple);
  worker_.remove_idle(this);
  idle_ = false;
  co_return !ec;  // false: idle timeout, or draining
}

awaitable<void> Http1Session::run() {
  bool first = true;
  while (!worker_.draining() || first) {
    if (!co_await wait_for_request(first)) break;
    first = false;
    const auto& server = worker_.runtime()->config->server;
    HeaderParser parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(boost::none);  // checked against the route's limit in handle()
    // The whole header must arrive within read_header_timeout: slowloris is cut off here.
    stream_.expires_after(server.read_header_timeout);
    auto [ec, n] = co_await http::async_read_header(stream_, buffer_, parser, kUseTuple);
    if (ec) {
      if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message) {
        Response response{status_for_parse_error(ec), 11};
        response.set(http::field::content_type, "text/plain; charset=utf-8");
        response.body() = fmt::format("malformed request header: {}\n", ec.message());
        log::warn("request rejected", {{"remote", info_.remote},
                                       {"tenant", info_.tenant.tenant},
                                       {"status", status_text(response.result())},
                                       {"reason", ec.message()}});
        common::request_metrics().count_request(info_.tenant.tenant, "", response.result_int());
        co_await send(response, false);
      }
      break;
    }
    if (!co_await handle(parser)) break;
  }
  if (unread_body_) co_await discard_unread_body();
  // Best-effort TLS close_notify; a client that does not answer it is not waited for long.
  stream_.expires_after(std::chrono::seconds(1));
  co_await stream_.shutdown();
}

awaitable<void> Http1Session::discard_unread_body() {
  // Like nginx's lingering close: a client still sending a body we refused (413, 403, ...) gets
  // to finish, so it reads our answer instead of a connection reset. Bounded in time and bytes.
  const auto deadline = std::chrono::steady_clock::now() + kLingerTotal;
  std::size_t discarded = 0;
  while (discarded < kLingerMaxBytes) {
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) break;
    stream_.expires_after(std::min<std::chrono::steady_clock::duration>(left, kLingerIdle));
    auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(kReadChunk), kUseTuple);
    if (ec) break;
    discarded += n;  // prepared but never committed: the bytes are dropped
  }
}

awaitable<bool> Http1Session::send(Response& response, bool keep_alive) {
  response.keep_alive(keep_alive && !worker_.draining());
  response.prepare_payload();
  stream_.expires_after(worker_.runtime()->config->server.request_timeout);
  auto [ec, n] = co_await http::async_write(stream_, response, kUseTuple);
  co_return !ec && response.keep_alive();
}

awaitable<bool> Http1Session::reject(const http::request_header<>& request,
                                     const server::Refusal& refusal, bool keep_alive,
                                     std::string_view route) {
  Response response = pipeline_.answer(request, refusal, route);
  co_return co_await send(response, keep_alive && !refusal.tenant_disabled);
}

awaitable<Http1Session::BodyResult> Http1Session::read_body(HeaderParser& header_parser,
                                                            std::uint64_t max_body) {
  const auto& server = worker_.runtime()->config->server;
  stream_.expires_after(server.request_timeout);
  BodyResult result;
  // From here until the body is in, a disable of this tenant cancels the read (refuse_mid_body).
  // Registering and re-checking the switch happen without a suspension in between, so a disable
  // is seen either here or by the worker's refuse_tenant().
  refused_mid_body_ = false;
  worker_.add_body_reader(this);
  struct Unregister {
    server::Worker& worker;
    server::BodyReader* reader;
    ~Unregister() { worker.remove_body_reader(reader); }
  } unregister{worker_, this};
  if (worker_.shared().switches.refused(info_.tenant.tenant)) {
    refused_mid_body_ = true;
    result.request.emplace(std::move(header_parser.release().base()));
    co_return result;
  }
  if (header_parser.chunked()) {
    // No length up front: Beast's parser decodes the chunks, bounded by max_body while reading.
    http::request_parser<proxy::RequestBody> parser{std::move(header_parser)};
    parser.body_limit(max_body);
    auto [ec, n] = co_await http::async_read(stream_, buffer_, parser, kUseTuple);
    unread_body_ = ec == http::error::body_limit;
    if (ec == http::error::body_limit) {
      result.reject = http::status::payload_too_large;
      result.reason = fmt::format("request body exceeds max_request_body_bytes ({})", max_body);
    } else if (ec && ec.category() == http::make_error_code(http::error::bad_target).category() &&
               ec != http::error::partial_message) {
      result.reject = http::status::bad_request;
      result.reason = fmt::format("malformed request body: {}", ec.message());
    } else if (ec && !refused_mid_body_) {
      log::info(
          "request body not received",
          {{"remote", info_.remote}, {"tenant", info_.tenant.tenant}, {"reason", ec.message()}});
      co_return result;
    }
    result.request.emplace(parser.release());
    co_return result;
  }

  // Content-Length (already checked against max_body): TLS records are decrypted straight into
  // the body, not through the read buffer and a parser copy. Bytes read ahead with the header
  // come first; bytes beyond the body (a pipelined request) stay in the buffer.
  const std::size_t length = header_parser.content_length().value_or(0);
  auto& request = result.request.emplace(std::move(header_parser.release().base()));
  auto& body = request.body();
  body.resize(length);
  const std::size_t buffered = std::min(length, buffer_.size());
  asio::buffer_copy(asio::buffer(body.data(), buffered), buffer_.data());
  buffer_.consume(buffered);
  if (buffered < length) {
    auto [ec, n] = co_await asio::async_read(
        stream_, asio::buffer(body.data() + buffered, length - buffered), kUseTuple);
    if (ec && refused_mid_body_) co_return result;  // answered by the caller
    if (ec) {
      log::info(
          "request body not received",
          {{"remote", info_.remote}, {"tenant", info_.tenant.tenant}, {"reason", ec.message()}});
      result.request.reset();
      co_return result;
    }
  }
  unread_body_ = false;
  co_return result;
}

awaitable<bool> Http1Session::handle(HeaderParser& header_parser) {
  auto runtime = worker_.runtime();  // one snapshot for the whole request
  const auto& config = *runtime->config;
  common::RequestTimer timer(common::request_metrics());  // after `runtime`: it views a route
  const auto& request = header_parser.get();
  const bool has_body = header_parser.chunked() || header_parser.content_length().value_or(0) > 0;
  // After a rejection the connection stays open only if no unread body would be parsed as the
  // next request.
  const bool keep_after_reject = header_parser.keep_alive() && !has_body;
  unread_body_ = has_body;

  if (request.count(http::field::transfer_encoding) > 0 && !header_parser.chunked()) {
    co_return co_await reject(
        request, {http::status::bad_request, "unsupported Transfer-Encoding (only chunked)"}, false,
        "");
  }
  std::optional<std::uint64_t> declared;
  if (auto length = header_parser.content_length()) declared = *length;
  server::HeadCheck check = pipeline_.check_head(*runtime, request, declared);
  const std::string_view route_path = check.route ? std::string_view(check.route->path) : "";
  timer.set_route(check.route ? route_path : common::RequestMetrics::kNoRoute);
  if (check.refusal) {
    // A refused declared length leaves its body unread: the connection cannot be reused.
    const bool keep = keep_after_reject && check.refusal->status != http::status::payload_too_large;
    co_return co_await reject(request, *check.refusal, keep, route_path);
  }
  const config::RouteConfig& route = *check.route;
  const std::uint64_t max_body = config.server.max_request_body_bytes;
  if (auto expect = request.find(http::field::expect); expect != request.end()) {
    if (!expects_continue(request)) {
      co_return co_await reject(request,
                                {http::status::expectation_failed, "unsupported Expect header"},
                                keep_after_reject, route_path);
    }
    http::response<http::empty_body> go_on{http::status::continue_, request.version()};
    stream_.expires_after(config.server.request_timeout);
    auto [ec, n] = co_await http::async_write(stream_, go_on, kUseTuple);
    if (ec) co_return false;
  }

  BodyResult body = co_await read_body(header_parser, max_body);
  if (body.request && refused_mid_body_) {
    // Disabled while the body was on its way: answered now, the rest of the body is not read.
    unread_body_ = true;
  }
  if (body.request &&
      (refused_mid_body_ || worker_.shared().switches.refused(info_.tenant.tenant))) {
    co_return co_await reject(*body.request, pipeline_.disabled_mid_body(), false, route_path);
  }
  if (!body.request) co_return false;
  if (body.reject == http::status::payload_too_large) {
    co_return co_await reject(*body.request, pipeline_.body_too_large(max_body), false, route_path);
  }
  if (body.reject != http::status::ok) {
    co_return co_await reject(*body.request, {body.reject, body.reason}, false, route_path);
  }
  proxy::UpstreamRequest& upstream_request = *body.request;
  const bool client_keep_alive = upstream_request.keep_alive();
  const unsigned client_version = upstream_request.version();
  const bool is_head = upstream_request.method() == http::verb::head;

  server::Forwarded forwarded = co_await pipeline_.forward(*runtime, route, upstream_request);
  if (forwarded.refusal) {
    upstream_request.version(client_version);  // answer in the client's terms
    co_return co_await reject(upstream_request, *forwarded.refusal, client_keep_alive, route_path);
  }
  Response& response = *forwarded.response;
  response.version(client_version);
  if (is_head) {
    // HEAD answers keep the upstream's Content-Length without a body.
    response.keep_alive(client_keep_alive && !worker_.draining());
    stream_.expires_after(config.server.request_timeout);
    http::response_serializer<http::string_body> serializer{response};
    serializer.split(true);
    auto [wec, wn] = co_await http::async_write_header(stream_, serializer, kUseTuple);
    co_return !wec && response.keep_alive();
  }
  co_return co_await send(response, client_keep_alive);
}

}  // namespace mla::http1
