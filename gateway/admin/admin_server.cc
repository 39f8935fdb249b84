#include "gateway/admin/admin_server.h"

#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gateway/common/logging.h"

namespace mla::admin {
namespace {

using HttpResponse = http::response<http::string_body>;

HttpResponse to_http(const Response& response, unsigned version, bool keep_alive) {
  HttpResponse out{static_cast<http::status>(response.status), version};
  out.set(http::field::server, "mla-gateway");
  out.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) out.set(name, value);
  out.body() = response.body;
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

}  // namespace

AdminServer::AdminServer(AdminContext context) : context_(std::move(context)) {}

AdminServer::~AdminServer() { stop(); }

void AdminServer::listen(const tcp::endpoint& endpoint) {
  try {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  } catch (const boost::system::system_error& e) {
    throw std::runtime_error("admin.listen " + endpoint.address().to_string() + ":" +
                             std::to_string(endpoint.port()) + ": " + e.code().message());
  }
}

void AdminServer::start() {
  asio::co_spawn(io_, accept_loop(), asio::detached);
  thread_ = std::thread([this] {
    try {
      io_.run();
    } catch (const std::exception& e) {
      log::error("admin server stopped by an exception", {{"error", e.what()}});
    }
  });
}

void AdminServer::stop() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

awaitable<void> AdminServer::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      log::error("admin accept failed", {{"error", ec.message()}});
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(kUseTuple);
      continue;
    }
    if (connections_ >= kMaxConnections) {
      error_code ignored;
      socket.close(ignored);
      continue;
    }
    ++connections_;
    asio::co_spawn(io_, serve(std::move(socket)), [this](const std::exception_ptr& e) {
      --connections_;
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::error("admin connection failed", {{"error", ex.what()}});
      }
    });
  }
}

awaitable<void> AdminServer::serve(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (bool first = true;; first = false) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(kMaxBodyBytes);
    // One deadline for the whole request, so a trickled header cannot hold the connection.
    stream.expires_after(first ? kRequestTimeout : kIdleTimeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kUseTuple);
    if (ec) {
      // Closed, timed out, or malformed; a malformed request gets a short answer first.
      if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message) {
        int status = ec == http::error::header_limit ? 431
                     : ec == http::error::body_limit ? 413
                                                     : 400;
        Response bad{
            status, "text/plain; charset=utf-8", "bad request: " + ec.message() + "\n", {}};
        HttpResponse out = to_http(bad, 11, false);
        stream.expires_after(kRequestTimeout);
        co_await http::async_write(stream, out, kUseTuple);
      }
      break;
    }
    const auto& request = parser.get();
    Response response = handle_admin(
        {std::string(request.method_string()), std::string(request.target()), request.body()},
        context_);
    HttpResponse out = to_http(response, request.version(), request.keep_alive());
    stream.expires_after(kRequestTimeout);
    auto [wec, wn] = co_await http::async_write(stream, out, kUseTuple);
    if (wec || !out.keep_alive()) break;
  }
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace mla::admin
