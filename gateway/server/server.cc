#include "gateway/server/server.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <csignal>
#include <system_error>

#include "gateway/common/logging.h"
#include "gateway/common/metrics.h"
#include "gateway/common/stats.h"
#include "gateway/tenant/state_file.h"
#include "gateway/tls/file_fingerprint.h"
#include "gateway/tls/tls_context.h"
#include "gateway/tls/tls_files.h"

namespace mla::server {
namespace {

tcp::endpoint listen_endpoint(const config::ListenAddress& listen) {
  return {asio::ip::make_address(listen.host), listen.port};
}

// The workers bind with SO_REUSEPORT, which would let a second gateway (same user) on the same
// port silently take a share of the connections. A plain bind first fails if anyone listens there.
void ensure_port_not_shared(const tcp::endpoint& endpoint, const std::string& key) {
  if (endpoint.port() == 0) return;
  asio::io_context io;
  tcp::acceptor probe(io);
  probe.open(endpoint.protocol());
  probe.set_option(tcp::acceptor::reuse_address(true));
  error_code ec;
  probe.bind(endpoint, ec);
  if (ec) {
    throw std::system_error(
        ec, key + " " + endpoint.address().to_string() + ":" + std::to_string(endpoint.port()));
  }
}

std::string address_text(const config::ListenAddress& listen) {
  return listen.host + ":" + std::to_string(listen.port);
}

constexpr std::chrono::seconds kEvictInterval{60};

// notAfter of the serving certificate as `runtime` loaded it (Unix s); throws if it has expired:
// a reload must not swap a working certificate for a dead one.
std::int64_t checked_not_after(const Runtime& runtime) {
  const std::string& file = runtime.config->tls.cert_file;
  const auto it = runtime.certificate_expiry.find(file);
  if (it == runtime.certificate_expiry.end()) {
    throw std::runtime_error("tls.cert_file " + file + ": unreadable");
  }
  const auto not_after = it->second;
  if (not_after < std::chrono::system_clock::now()) {
    throw std::runtime_error(
        fmt::format("tls.cert_file {}: certificate expired at {:%Y-%m-%dT%H:%M:%SZ}", file,
                    std::chrono::time_point_cast<std::chrono::seconds>(not_after)));
  }
  return std::chrono::duration_cast<std::chrono::seconds>(not_after.time_since_epoch()).count();
}

// The config as the admin API shows it: limits.replicas is the divisor in use, which
// limits.replicas_from_dns may have replaced, so the tenant API's per-replica limits are the ones
// enforced. The copy is made once per (config, divisor) pair, not per call. Thread-safe.
class AdminConfigCache {
 public:
  std::shared_ptr<const config::Config> get(std::shared_ptr<const config::Config> config,
                                            std::uint32_t replicas) {
    if (config->limits.replicas == replicas) return config;
    std::lock_guard lock(mutex_);
    if (base_ != config || replicas_ != replicas) {
      auto copy = std::make_shared<config::Config>(*config);
      copy->limits.replicas = replicas;
      base_ = std::move(config);
      replicas_ = replicas;
      adjusted_ = std::move(copy);
    }
    return adjusted_;
  }

 private:
  std::mutex mutex_;
  std::shared_ptr<const config::Config> base_;      // guarded by mutex_
  std::uint32_t replicas_ = 0;                      // guarded by mutex_
  std::shared_ptr<const config::Config> adjusted_;  // guarded by mutex_
};

}  // namespace

Server::Server(std::shared_ptr<const Runtime> runtime,
               std::function<std::shared_ptr<const Runtime>()> reload)
    : shared_(std::move(runtime)), reload_(std::move(reload)) {}

Server::~Server() {
  for (auto& worker : workers_) worker->stop();
  for (auto& worker : workers_) worker->join();
}

void Server::start() {
  const auto runtime = shared_.runtimes.get();
  const auto& config = *runtime->config;
  const auto& server = config.server;
  status_.reload_succeeded(std::chrono::system_clock::now());  // the initial load
  files_fingerprint_ = runtime->files_fingerprint;
  // An expired certificate at start: serve (clients may still accept it) but report not ready.
  if (auto it = runtime->certificate_expiry.find(config.tls.cert_file);
      it != runtime->certificate_expiry.end()) {
    status_.certificate_not_after_s.store(
        std::chrono::duration_cast<std::chrono::seconds>(it->second.time_since_epoch()).count());
  }
  if (status_.certificate_expired()) {
    log::error("the server certificate has expired; /-/ready answers 503",
               {{"file", config.tls.cert_file}});
  }
  // Disabled tenants survive restarts: refused from the first request on. A state file that
  // cannot be read is an error at start, never "everyone enabled".
  if (!config.admin.state_file.empty()) {
    shared_.switches.replace(tenant::load_state_file(config.admin.state_file));
    const auto disabled = shared_.switches.snapshot();
    if (!disabled.empty()) {
      log::info("disabled tenants loaded", {{"state_file", config.admin.state_file},
                                            {"disabled", std::to_string(disabled.size())}});
    }
  }
  // The admin listener comes first, so /-/ready answers 503 until the data plane is up.
  start_admin(config);
  unsigned threads = server.threads != 0 ? server.threads : std::thread::hardware_concurrency();
  if (threads == 0) threads = 1;
  auto endpoint = listen_endpoint(server.listen);
  ensure_port_not_shared(endpoint, "server.listen");
  std::optional<tcp::endpoint> read_endpoint;
  if (config.read.listen) {
    read_endpoint = listen_endpoint(*config.read.listen);
    ensure_port_not_shared(*read_endpoint, "read.listen");
  }
  for (unsigned i = 0; i < threads; ++i) {
    auto worker = std::make_unique<Worker>(i, shared_);
    worker->listen(endpoint);
    if (read_endpoint) worker->listen_read(*read_endpoint);
    workers_.push_back(std::move(worker));
  }
  for (auto& worker : workers_) worker->start();
  shared_.replica_resolver.start();
  status_.listening.store(true);
  log::info("listening", {{"address", address_text(server.listen)},
                          {"workers", std::to_string(threads)},
                          {"version", MLA_VERSION}});
  if (config.read.listen) {
    log::info("read listener", {{"address", address_text(*config.read.listen)},
                                {"tls", config.read.tls.cert_file.empty() ? "off" : "on"}});
  }
}

void Server::start_admin(const config::Config& config) {
  if (!config.admin.listen && config.admin.socket.empty()) return;
  admin_ = std::make_unique<admin::AdminServer>(admin::AdminContext{
      .stats = common::stats(),
      .tenants = shared_.tenants,
      .requests = common::request_metrics(),
      .status = status_,
      .config =
          [this, adjusted = std::make_shared<AdminConfigCache>()] {
            return adjusted->get(shared_.runtimes.get()->config, shared_.limiter.replicas());
          },
      .certificates = [this] { return shared_.runtimes.get()->certificate_expiry; },
      .switches = &shared_.switches,
      .persist =
          [path = config.admin.state_file](const tenant::DisabledMap& disabled) {
            if (!path.empty()) tenant::save_state_file(path, disabled);
          },
      .enforce = [this](const std::string& tenant) { enforce_disable(tenant); },
      .reload = [this] { return reload(); },
      .rates = {},
      .started = std::chrono::steady_clock::now(),
  });
  if (config.admin.listen) admin_->listen(listen_endpoint(*config.admin.listen));
  if (!config.admin.socket.empty()) admin_->listen_unix(config.admin.socket);
  admin_->start();
  if (config.admin.listen) {
    log::info("admin listening", {{"address", address_text(*config.admin.listen)}});
  }
  if (!config.admin.socket.empty()) {
    log::info("control socket listening", {{"path", config.admin.socket}});
  }
}

void Server::enforce_disable(const std::string& tenant) {
  struct Pending {
    std::mutex mutex;
    std::condition_variable done;
    std::size_t left;
  };
  auto pending = std::make_shared<Pending>();
  pending->left = workers_.size();
  for (auto& worker : workers_) {
    worker->refuse_tenant(tenant, [pending] {
      std::lock_guard lock(pending->mutex);
      if (--pending->left == 0) pending->done.notify_all();
    });
  }
  std::unique_lock lock(pending->mutex);
  if (!pending->done.wait_for(lock, kEnforceTimeout, [&] { return pending->left == 0; })) {
    // New requests are refused already (the switch); only in-flight body reads may finish.
    log::warn("not every worker confirmed the disable in time",
              {{"tenant", tenant}, {"workers_left", std::to_string(pending->left)}});
  }
}

void Server::install(std::shared_ptr<const Runtime> next) {
  const std::int64_t not_after = checked_not_after(*next);
  const config::Config& old_config = *shared_.runtimes.get()->config;
  const config::Config& new_config = *next->config;
  const auto& old_listen = old_config.server.listen;
  const auto& new_listen = new_config.server.listen;
  if (old_listen.host != new_listen.host || old_listen.port != new_listen.port) {
    log::warn("server.listen changed; it takes effect after a restart");
  }
  const auto& old_read = old_config.read.listen;
  const auto& new_read = new_config.read.listen;
  if (old_read.has_value() != new_read.has_value() ||
      (old_read && (old_read->host != new_read->host || old_read->port != new_read->port))) {
    log::warn("read.listen changed; it takes effect after a restart");
  }
  const auto& old_admin = old_config.admin;
  const auto& new_admin = new_config.admin;
  if (old_admin.listen.has_value() != new_admin.listen.has_value() ||
      (old_admin.listen && (old_admin.listen->host != new_admin.listen->host ||
                            old_admin.listen->port != new_admin.listen->port)) ||
      old_admin.socket != new_admin.socket || old_admin.state_file != new_admin.state_file) {
    log::warn(
        "admin.listen, admin.socket or admin.state_file changed; takes effect after a restart");
  }
  files_fingerprint_ = next->files_fingerprint;
  shared_.limiter.update_config(new_config.limits);
  status_.certificate_not_after_s.store(not_after);
  shared_.runtimes.set(std::move(next));
  shared_.replica_resolver.config_changed();  // limits.replicas_from_dns may have changed
}

std::string Server::reload() {
  std::lock_guard lock(reload_mutex_);
  try {
    install(reload_());
    status_.reload_succeeded(std::chrono::system_clock::now());
    log::info("configuration reloaded");
    return "";
  } catch (const std::exception& e) {
    status_.reload_failed();
    log::error("reload failed; keeping the running configuration", {{"error", e.what()}});
    return e.what();
  }
}

void Server::reload_certificates_if_changed() {
  std::lock_guard lock(reload_mutex_);
  auto current = shared_.runtimes.get();
  const std::string fingerprint = tls::files_fingerprint(tls::tls_material_files(*current->config));
  if (fingerprint == files_fingerprint_) return;
  try {
    install(build_runtime(*current->config));
    log::info("certificates reloaded", {{"cert_file", current->config->tls.cert_file}});
  } catch (const std::exception& e) {
    // Retried at the next check (the fingerprint of the running files is kept), e.g. when the
    // certificate was written before its key.
    log::error("certificate reload failed; keeping the running certificates",
               {{"error", e.what()}});
  }
}

int Server::wait() {
  auto& control = control_;
  auto& signals = signals_;
  asio::steady_timer timer(control);
  bool draining = false;
  std::chrono::steady_clock::time_point deadline;

  std::function<void()> poll_drain = [&] {
    auto open = common::stats().open_connections.load();
    if (open == 0 || std::chrono::steady_clock::now() >= deadline) {
      if (open > 0) {
        log::warn("shutdown grace period over; closing connections",
                  {{"open_connections", std::to_string(open)}});
      }
      control.stop();
      return;
    }
    timer.expires_after(std::chrono::milliseconds(50));
    timer.async_wait([&](const error_code& ec) {
      if (!ec) poll_drain();
    });
  };

  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const error_code& ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        reload();
      } else if (!draining) {
        draining = true;
        status_.draining.store(true);
        auto grace = shared_.runtimes.get()->config->server.shutdown_grace_period;
        deadline = std::chrono::steady_clock::now() + grace;
        log::info("draining",
                  {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"},
                   {"open_connections", std::to_string(common::stats().open_connections.load())}});
        for (auto& worker : workers_) worker->drain();
        poll_drain();
      } else {
        log::warn("second stop signal; exiting now");
        control.stop();
        return;
      }
      wait_signal();
    });
  };
  wait_signal();

  // Idle tenants' buckets are dropped periodically so memory stays bounded (TenantLimiter).
  asio::steady_timer evict_timer(control);
  std::function<void()> schedule_evict = [&] {
    evict_timer.expires_after(kEvictInterval);
    evict_timer.async_wait([&](const error_code& ec) {
      if (ec) return;
      shared_.limiter.evict_idle();
      schedule_evict();
    });
  };
  schedule_evict();

  // Certificate, CA and CRL files are re-read when they change (checked every
  // tls.reload_interval of the running config).
  asio::steady_timer certificate_timer(control);
  std::function<void()> schedule_certificate_check = [&] {
    certificate_timer.expires_after(shared_.runtimes.get()->config->tls.reload_interval);
    certificate_timer.async_wait([&](const error_code& ec) {
      if (ec) return;
      reload_certificates_if_changed();
      schedule_certificate_check();
    });
  };
  schedule_certificate_check();
  control.run();

  shared_.replica_resolver.stop();
  for (auto& worker : workers_) worker->stop();
  for (auto& worker : workers_) worker->join();
  if (admin_) admin_->stop();
  log::info("stopped");
  return 0;
}

}  // namespace mla::server
