#include "gateway/server/server.h"

#include <csignal>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gateway/common/logging.h"
#include "gateway/common/stats.h"

namespace mla::server {
namespace {

tcp::endpoint listen_endpoint(const config::ListenAddress& listen) {
  return {asio::ip::make_address(listen.host), listen.port};
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
  const auto& server = shared_.runtimes.get()->config->server;
  unsigned threads = server.threads != 0 ? server.threads : std::thread::hardware_concurrency();
  if (threads == 0) threads = 1;
  auto endpoint = listen_endpoint(server.listen);
  for (unsigned i = 0; i < threads; ++i) {
    auto worker = std::make_unique<Worker>(i, shared_);
    worker->listen(endpoint);
    workers_.push_back(std::move(worker));
  }
  for (auto& worker : workers_) worker->start();
  log::info("listening", {{"address", server.listen.host + ":" + std::to_string(server.listen.port)},
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
    shared_.limiter.update_config(next->config->limits);
    shared_.runtimes.set(std::move(next));
    log::info("configuration reloaded");
  } catch (const std::exception& e) {
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
        auto grace = shared_.runtimes.get()->config->server.shutdown_grace_period;
        deadline = std::chrono::steady_clock::now() + grace;
        log::info("draining", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"},
                               {"open_connections",
                                std::to_string(common::stats().open_connections.load())}});
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
  log::info("stopped");
  return 0;
}

}  // namespace mla::server
