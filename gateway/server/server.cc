#include "gateway/server/server.h"

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <system_error>

#include "gateway/common/logging.h"
#include "gateway/common/metrics.h"
#include "gateway/common/stats.h"

namespace mla::server {
namespace {

tcp::endpoint listen_endpoint(const config::ListenAddress& listen) {
  return {asio::ip::make_address(listen.host), listen.port};
}

// The workers bind with SO_REUSEPORT, which would let a second gateway (same user) on the same
// port silently take a share of the connections. A plain bind first fails if anyone listens there.
void ensure_port_not_shared(const tcp::endpoint& endpoint) {
  if (endpoint.port() == 0) return;
  asio::io_context io;
  tcp::acceptor probe(io);
  probe.open(endpoint.protocol());
  probe.set_option(tcp::acceptor::reuse_address(true));
  error_code ec;
  probe.bind(endpoint, ec);
  if (ec) {
    throw std::system_error(ec, "server.listen " + endpoint.address().to_string() + ":" +
                                    std::to_string(endpoint.port()));
  }
}

std::string address_text(const config::ListenAddress& listen) {
  return listen.host + ":" + std::to_string(listen.port);
}

constexpr std::chrono::seconds kEvictInterval{60};

}  // namespace

Server::Server(std::shared_ptr<const Runtime> runtime,
               std::function<std::shared_ptr<const Runtime>()> reload)
    : shared_(std::move(runtime)), reload_(std::move(reload)) {}

Server::~Server() {
  for (auto& worker : workers_) worker->stop();
  for (auto& worker : workers_) worker->join();
}

void Server::start() {
  const auto& config = *shared_.runtimes.get()->config;
  const auto& server = config.server;
  status_.reload_succeeded(std::chrono::system_clock::now());  // the initial load
  // The admin listener comes first, so /-/ready answers 503 until the data plane is up.
  if (config.admin.listen) {
    admin_ = std::make_unique<admin::AdminServer>(admin::AdminContext{
        .stats = common::stats(),
        .tenants = shared_.tenants,
        .requests = common::request_metrics(),
        .status = status_,
        .config = [this] { return shared_.runtimes.get()->config; },
    });
    admin_->listen(listen_endpoint(*config.admin.listen));
    admin_->start();
    log::info("admin listening", {{"address", address_text(*config.admin.listen)}});
  }
  unsigned threads = server.threads != 0 ? server.threads : std::thread::hardware_concurrency();
  if (threads == 0) threads = 1;
  auto endpoint = listen_endpoint(server.listen);
  ensure_port_not_shared(endpoint);
  for (unsigned i = 0; i < threads; ++i) {
    auto worker = std::make_unique<Worker>(i, shared_);
    worker->listen(endpoint);
    workers_.push_back(std::move(worker));
  }
  for (auto& worker : workers_) worker->start();
  status_.listening.store(true);
  log::info("listening", {{"address", address_text(server.listen)},
                          {"workers", std::to_string(threads)},
                          {"version", MLA_VERSION}});
}

void Server::reload() {
  try {
    auto next = reload_();
    const auto& old_listen = shared_.runtimes.get()->config->server.listen;
    const auto& new_listen = next->config->server.listen;
    if (old_listen.host != new_listen.host || old_listen.port != new_listen.port) {
      log::warn("server.listen changed; it takes effect after a restart");
    }
    const auto& old_admin = shared_.runtimes.get()->config->admin.listen;
    const auto& new_admin = next->config->admin.listen;
    if (old_admin.has_value() != new_admin.has_value() ||
        (old_admin && (old_admin->host != new_admin->host || old_admin->port != new_admin->port))) {
      log::warn("admin.listen changed; it takes effect after a restart");
    }
    shared_.limiter.update_config(next->config->limits);
    shared_.runtimes.set(std::move(next));
    status_.reload_succeeded(std::chrono::system_clock::now());
    log::info("configuration reloaded");
  } catch (const std::exception& e) {
    status_.reload_failed();
    log::error("reload failed; keeping the running configuration", {{"error", e.what()}});
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
  control.run();

  for (auto& worker : workers_) worker->stop();
  for (auto& worker : workers_) worker->join();
  if (admin_) admin_->stop();
  log::info("stopped");
  return 0;
}

}  // namespace mla::server
