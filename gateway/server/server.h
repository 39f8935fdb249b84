// Owns the workers (one thread and io_context each), the admin listener (its own thread) and the
// process lifecycle: start, reload (SIGHUP), graceful drain (SIGTERM/SIGINT) within
// shutdown_grace_period, during which /-/ready answers 503.
#pragma once

#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <functional>
#include <memory>
#include <vector>

#include "gateway/admin/admin_server.h"
#include "gateway/admin/server_status.h"
#include "gateway/server/runtime.h"
#include "gateway/server/shared_state.h"
#include "gateway/server/worker.h"

namespace mla::server {

class Server {
 public:
  // `reload` builds a new Runtime from the config file (throws with a one-line reason).
  Server(std::shared_ptr<const Runtime> runtime,
         std::function<std::shared_ptr<const Runtime>()> reload);
  ~Server();

  // Binds the admin listener (if configured), then every worker's listener; throws if an address
  // cannot be bound.
  void start();
  // Blocks until a stop signal has been handled and the drain finished; returns the exit code.
  int wait();

 private:
  void reload();

  // Signals are caught from construction on, so a SIGTERM right after the port opens drains
  // instead of killing the process.
  asio::io_context control_{1};
  asio::signal_set signals_{control_, SIGINT, SIGTERM, SIGHUP};
  SharedState shared_;
  std::function<std::shared_ptr<const Runtime>()> reload_;
  std::vector<std::unique_ptr<Worker>> workers_;
  admin::ServerStatus status_;  // written on the control thread, read by the admin thread
  // Declared last: stopped (by its destructor) before the state it reads goes away.
  std::unique_ptr<admin::AdminServer> admin_;
};

}  // namespace mla::server
