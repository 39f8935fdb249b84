#include "gateway/proxy/upstream_pool.h"

#include <fmt/format.h>

namespace mla::proxy {
namespace {

bool is_timeout(const error_code& ec) {
  return ec == beast::error::timeout || ec == asio::error::timed_out;
}

ForwardResult failure(const error_code& ec, std::string_view what,
                      const config::UpstreamConfig& upstream) {
  ForwardResult result;
  result.error_status = is_timeout(ec) ? http::status::gateway_timeout : http::status::bad_gateway;
  result.error = fmt::format("upstream {} {}: {}", upstream.name, what,
                             is_timeout(ec) ? "timed out" : ec.message());
  return result;
}

bool is_interim(unsigned status) { return status >= 100 && status < 200 && status != 101; }

}  // namespace

UpstreamPool::UpstreamPool(config::UpstreamConfig config, std::shared_ptr<asio::ssl::context> tls)
    : config_(std::move(config)), tls_(std::move(tls)) {}

std::unique_ptr<UpstreamConnection> UpstreamPool::take_idle() {
  auto now = std::chrono::steady_clock::now();
  while (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    if (now - conn->idle_since < kMaxIdleAge && conn->looks_alive()) return conn;
    conn->close();
  }
  return nullptr;
}

void UpstreamPool::give_back(std::unique_ptr<UpstreamConnection> conn) {
  if (idle_.size() >= config_.max_idle_connections) {
    conn->close();
    return;
  }
  conn->idle();
  idle_.push_back(std::move(conn));
}

void UpstreamPool::close_idle() {
  for (auto& conn : idle_) conn->close();
  idle_.clear();
}

awaitable<UpstreamPool::Sent> UpstreamPool::send(UpstreamRequest& request) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto conn = take_idle();
    bool reused = conn != nullptr;
    if (!conn) {
      error_code ec;
      conn = co_await UpstreamConnection::connect(config_, tls_.get(), ec);
      if (!conn) co_return Sent{nullptr, ec, "connect"};
    }
    std::size_t sent = 0;
    error_code ec = co_await conn->write(request, config_.timeout, sent);
    if (!ec) co_return Sent{std::move(conn), {}, {}};
    conn->close();
    if (reused && sent == 0) continue;  // stale keep-alive connection, nothing sent yet
    co_return Sent{nullptr, ec, "write"};
  }
  co_return Sent{nullptr, {}, ""};
}

awaitable<ForwardResult> UpstreamPool::forward(UpstreamRequest& request, bool is_head) {
  Sent sent = co_await send(request);
  if (!sent.connection) {
    if (!sent.ec) {
      ForwardResult result;
      result.error = fmt::format("upstream {}: connection lost twice", config_.name);
      co_return result;
    }
    co_return failure(sent.ec, sent.what, config_);
  }
  auto conn = std::move(sent.connection);

  // Interim 1xx answers (100 Continue, 103 Early Hints) are not the response: read on.
  std::optional<UpstreamResponseParser> parser;
  error_code ec;
  for (;;) {
    parser.emplace();
    parser->body_limit(kMaxUpstreamResponseBytes);
    if (is_head) parser->skip(true);
    std::size_t received = 0;
    ec = co_await conn->read(*parser, config_.timeout, received);
    if (ec || !is_interim(parser->get().result_int())) break;
  }
  if (ec) {
    conn->close();
    if (ec == http::error::body_limit) {
      ForwardResult result;
      result.error = fmt::format("upstream {} response larger than {} bytes", config_.name,
                                 kMaxUpstreamResponseBytes);
      co_return result;
    }
    co_return failure(ec, "read", config_);
  }

  ForwardResult result;
  result.response = parser->release();
  release(std::move(conn), result.response->keep_alive());
  co_return result;
}

awaitable<OpenedResponse> UpstreamPool::open(UpstreamRequest& request, bool is_head) {
  OpenedResponse opened;
  Sent sent = co_await send(request);
  if (!sent.connection) {
    ForwardResult failed = sent.ec ? failure(sent.ec, sent.what, config_) : ForwardResult{};
    if (!sent.ec) failed.error = fmt::format("upstream {}: connection lost twice", config_.name);
    opened.error_status = failed.error_status;
    opened.error = std::move(failed.error);
    co_return opened;
  }
  error_code ec;
  for (;;) {  // interim 1xx answers are skipped, as in forward()
    opened.parser = std::make_unique<StreamingResponseParser>();
    opened.parser->body_limit(boost::none);  // streamed: no size bound, bounded memory
    if (is_head) opened.parser->skip(true);
    ec = co_await sent.connection->read_header(*opened.parser, config_.timeout);
    if (ec || !is_interim(opened.parser->get().result_int())) break;
  }
  if (ec) {
    sent.connection->close();
    opened.parser.reset();
    ForwardResult failed = failure(ec, "read", config_);
    opened.error_status = failed.error_status;
    opened.error = std::move(failed.error);
    co_return opened;
  }
  opened.connection = std::move(sent.connection);
  co_return opened;
}

void UpstreamPool::release(std::unique_ptr<UpstreamConnection> conn, bool reusable) {
  if (reusable) {
    give_back(std::move(conn));
  } else {
    conn->close();
  }
}

}  // namespace mla::proxy
