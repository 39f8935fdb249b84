// Owns the workers (one thread and io_context each), the admin listener and control socket (their
// own thread) and the process lifecycle: start (state file loaded), reload (SIGHUP, POST
// /-/reload, changed certificate files every tls.reload_interval), graceful drain
// (SIGTERM/SIGINT) within shutdown_grace_period, during which /-/ready answers 503.
#pragma once

#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
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
  // Re-reads the config file (and so every certificate); "" on success, else the reason the
  // running config was kept. Any thread; serialised by reload_mutex_.
  std::string reload();
  // Rebuilds the Runtime from the running config if a certificate/CA/CRL file changed.
  void reload_certificates_if_changed();
  // Installs `next` (checked: listen addresses, certificate expiry). Under reload_mutex_.
  void install(std::shared_ptr<const Runtime> next);
  // Blocks until every worker refuses `tenant` (at most kEnforceTimeout).
  void enforce_disable(const std::string& tenant);
  void start_admin(const config::Config& config);

  static constexpr std::chrono::seconds kEnforceTimeout{2};

  // Signals are caught from construction on, so a SIGTERM right after the port opens drains
  // instead of killing the process.
  asio::io_context control_{1};
  asio::signal_set signals_{control_, SIGINT, SIGTERM, SIGHUP};
  SharedState shared_;
  std::function<std::shared_ptr<const Runtime>()> reload_;
  std::vector<std::unique_ptr<Worker>> workers_;
  admin::ServerStatus status_;  // atomics: written on the control/admin thread, read by others
  std::mutex reload_mutex_;     // one reload at a time (SIGHUP, POST /-/reload, certificate poll)
  std::string files_fingerprint_;  // of the running Runtime's TLS files; under reload_mutex_
  // Declared last: stopped (by its destructor) before the state it reads goes away.
  std::unique_ptr<admin::AdminServer> admin_;
};

}  // namespace mla::server
