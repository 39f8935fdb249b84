#include "gateway/admin/admin_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>

#include "gateway/common/logging.h"

namespace mla::admin {
namespace {

using HttpResponse = http::response<http::string_body>;
using UnixProtocol = asio::local::stream_protocol;

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

std::runtime_error socket_error(const std::string& path, const std::string& what) {
  return std::runtime_error("admin.socket " + path + ": " + what);
}

// Whether a process accepts connections on the Unix socket at `path` now.
bool socket_is_live(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  const bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return live;
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

void AdminServer::listen_unix(const std::string& path) {
  struct stat existing {};
  if (::lstat(path.c_str(), &existing) == 0) {
    if (!S_ISSOCK(existing.st_mode)) throw socket_error(path, "exists and is not a socket");
    if (socket_is_live(path)) {
      throw socket_error(path, "another process is serving it (is mla-gateway running?)");
    }
    // Stale (its process is gone): the rename below replaces it.
  }
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  ::unlink(temporary.c_str());
  try {
    unix_acceptor_.open(UnixProtocol());
    unix_acceptor_.bind(UnixProtocol::endpoint(temporary));
  } catch (const boost::system::system_error& e) {
    throw socket_error(path, "cannot bind " + temporary + ": " + e.code().message());
  }
  // Before the socket gets its final name, so no one can connect while it is group/world
  // accessible.
  if (::chmod(temporary.c_str(), 0600) != 0 || ::rename(temporary.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temporary.c_str());
    throw socket_error(path, std::strerror(err));
  }
  struct stat created {};
  if (::stat(path.c_str(), &created) == 0) socket_inode_ = created.st_ino;
  unix_acceptor_.listen(asio::socket_base::max_listen_connections);
  socket_path_ = path;
}

void AdminServer::start() {
  if (acceptor_.is_open()) {
    asio::co_spawn(io_, accept_loop(acceptor_, false), asio::detached);
  }
  if (unix_acceptor_.is_open()) {
    asio::co_spawn(io_, accept_loop(unix_acceptor_, true), asio::detached);
  }
  asio::co_spawn(io_, tick_loop(), asio::detached);
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
  if (!socket_path_.empty()) {
    // Only our own file: a newer gateway may have replaced it already.
    struct stat current {};
    if (::stat(socket_path_.c_str(), &current) == 0 && current.st_ino == socket_inode_) {
      ::unlink(socket_path_.c_str());
    }
    socket_path_.clear();
  }
}

awaitable<void> AdminServer::tick_loop() {
  asio::steady_timer timer(io_);
  for (;;) {
    context_.rates.sample(std::chrono::steady_clock::now(), context_.tenants);
    if (context_.switches != nullptr && context_.switches->expire()) {
      log::info("tenant disable expired");
      if (context_.persist) {
        try {
          context_.persist(context_.switches->snapshot());
        } catch (const std::exception& e) {
          // In memory the tenant is enabled already; the file catches up with the next change
          // (and an expired entry in it is ignored when loaded).
          log::error("cannot save the state file", {{"error", e.what()}});
        }
      }
    }
    timer.expires_after(kTickInterval);
    auto [ec] = co_await timer.async_wait(kUseTuple);
    if (ec) co_return;
  }
}

template <typename Acceptor>
awaitable<void> AdminServer::accept_loop(Acceptor& acceptor, bool trusted) {
  std::size_t& connections = trusted ? unix_connections_ : tcp_connections_;
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kUseTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      log::error("admin accept failed", {{"error", ec.message()}});
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(kUseTuple);
      continue;
    }
    if (connections >= kMaxConnections) {
      error_code ignored;
      socket.close(ignored);
      continue;
    }
    ++connections;
    asio::co_spawn(io_, serve(std::move(socket), trusted),
                   [&connections](const std::exception_ptr& e) {
                     --connections;
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       log::error("admin connection failed", {{"error", ex.what()}});
                     }
                   });
  }
}

template <typename Socket>
awaitable<void> AdminServer::serve(Socket socket, bool trusted) {
  beast::basic_stream<typename Socket::protocol_type> stream(std::move(socket));
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
    Request admin_request{std::string(request.method_string()), std::string(request.target()),
                          request.body(), std::string(request[http::field::authorization]),
                          trusted};
    Response response = handle_admin(admin_request, context_);
    HttpResponse out = to_http(response, request.version(), request.keep_alive());
    stream.expires_after(kRequestTimeout);
    auto [wec, wn] = co_await http::async_write(stream, out, kUseTuple);
    if (wec || !out.keep_alive()) break;
  }
  error_code ignored;
  stream.socket().shutdown(asio::socket_base::shutdown_send, ignored);
}

}  // namespace mla::admin
