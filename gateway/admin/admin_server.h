// The admin listener: plain HTTP/1.1 (loopback by default) on its own thread and io_context,
// apart from the data-plane workers, so a scrape never competes with client traffic for a worker
// and /-/ready keeps answering during a drain. Every request goes to handle_admin().
#pragma once

#include <thread>

#include "gateway/admin/admin_handler.h"
#include "gateway/common/asio.h"

namespace mla::admin {

class AdminServer {
 public:
  // Per-connection bounds. Requests are small (GET, or a short JSON body later).
  static constexpr std::uint32_t kMaxHeaderBytes = 8 * 1024;
  static constexpr std::uint64_t kMaxBodyBytes = 64 * 1024;
  static constexpr std::chrono::seconds kRequestTimeout{10};  // first request, and each write
  static constexpr std::chrono::seconds kIdleTimeout{60};     // between keep-alive requests
  static constexpr std::size_t kMaxConnections = 32;          // beyond: closed at accept

  explicit AdminServer(AdminContext context);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and listens; throws std::runtime_error naming the address.
  void listen(const tcp::endpoint& endpoint);
  tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void start();  // starts the thread
  void stop();   // any thread but the admin thread: stops the loop and joins

 private:
  awaitable<void> accept_loop();
  awaitable<void> serve(tcp::socket socket);

  AdminContext context_;    // read-only after construction; used on the admin thread
  asio::io_context io_{1};  // run only by thread_
  tcp::acceptor acceptor_{io_};
  std::thread thread_;
  std::size_t connections_ = 0;  // admin thread only
};

}  // namespace mla::admin
