// The admin listener (plain HTTP/1.1, loopback by default) and the Unix control socket, served by
// one thread and io_context apart from the data-plane workers: a scrape never competes with
// client traffic for a worker, /-/ready keeps answering during a drain, and the admin thread is
// the only writer of the tenant kill switch. Every request goes to handle_admin(); requests on
// the control socket are `trusted` (its 0600 file mode is the access control).
#pragma once

#include <boost/asio/local/stream_protocol.hpp>
#include <string>
#include <thread>

#include "gateway/admin/admin_handler.h"
#include "gateway/common/asio.h"

namespace mla::admin {

class AdminServer {
 public:
  // Per-connection bounds. Requests are small (GET, or a short JSON body).
  static constexpr std::uint32_t kMaxHeaderBytes = 8 * 1024;
  static constexpr std::uint64_t kMaxBodyBytes = 64 * 1024;
  static constexpr std::chrono::seconds kRequestTimeout{10};  // first request, and each write
  static constexpr std::chrono::seconds kIdleTimeout{60};     // between keep-alive requests
  static constexpr std::size_t kMaxConnections = 32;          // per listener; beyond: closed
  static constexpr std::chrono::seconds kTickInterval{1};     // rates sampled, expiries applied

  explicit AdminServer(AdminContext context);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and listens; throws std::runtime_error naming the address.
  void listen(const tcp::endpoint& endpoint);
  // Creates the control socket at `path`, mode 0600, atomically (bound under a temporary name,
  // then renamed over `path`). A stale socket file there is replaced; a live one (another
  // process answers) or a file that is not a socket is an error (std::runtime_error).
  void listen_unix(const std::string& path);
  bool has_tcp() const { return acceptor_.is_open(); }
  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void start();  // starts the thread
  void stop();   // any thread but the admin thread: stops the loop, joins, removes the socket file

 private:
  template <typename Acceptor>
  awaitable<void> accept_loop(Acceptor& acceptor, bool trusted);
  template <typename Socket>
  awaitable<void> serve(Socket socket, bool trusted);
  awaitable<void> tick_loop();

  AdminContext context_;    // used on the admin thread only (after construction)
  asio::io_context io_{1};  // run only by thread_
  tcp::acceptor acceptor_{io_};
  asio::local::stream_protocol::acceptor unix_acceptor_{io_};
  std::string socket_path_;  // "" = no control socket
  ino_t socket_inode_ = 0;   // ours, to remove only our own file at exit
  std::thread thread_;
  std::size_t tcp_connections_ = 0;   // admin thread only
  std::size_t unix_connections_ = 0;  // admin thread only
};

}  // namespace mla::admin
