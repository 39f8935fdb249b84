#include "gateway/server/worker.h"

#include <sys/socket.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <exception>

#include "gateway/common/logging.h"
#include "gateway/common/stats.h"
#include "gateway/read/read_connection.h"
#include "gateway/server/connection.h"

namespace mla::server {
namespace {

// Completion of one connection's coroutine: gives back its open-connection count and keeps
// exceptions inside the worker. (A handler, not a wrapping coroutine: one frame less per
// connection for its whole life.)
void connection_done(std::exception_ptr error) {
  common::stats().open_connections.fetch_sub(1, std::memory_order_relaxed);
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    log::error("connection failed", {{"error", e.what()}});
  }
}

}  // namespace

Worker::Worker(unsigned index, SharedState& shared) : index_(index), shared_(shared) {}

Worker::~Worker() {
  stop();
  join();
}

namespace {

// SO_REUSEPORT: every worker binds the same port; the kernel spreads new connections across them.
void bind_shared(tcp::acceptor& acceptor, const tcp::endpoint& endpoint) {
  acceptor.open(endpoint.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  int one = 1;
  if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    throw std::system_error(errno, std::generic_category(), "SO_REUSEPORT");
  }
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
}

}  // namespace

void Worker::listen(const tcp::endpoint& endpoint) { bind_shared(acceptor_, endpoint); }

void Worker::listen_read(const tcp::endpoint& endpoint) { bind_shared(read_acceptor_, endpoint); }

void Worker::start() {
  asio::co_spawn(io_, accept_loop(acceptor_, &serve_connection), asio::detached);
  if (read_acceptor_.is_open()) {
    asio::co_spawn(io_, accept_loop(read_acceptor_, &read::serve_read_connection), asio::detached);
  }
  thread_ = std::thread([this] {
    try {
      io_.run();
    } catch (const std::exception& e) {
      log::error("worker stopped by an exception",
                 {{"worker", std::to_string(index_)}, {"error", e.what()}});
    }
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::stop() { io_.stop(); }

void Worker::drain() {
  asio::post(io_, [this] {
    draining_ = true;
    error_code ignored;
    acceptor_.close(ignored);
    read_acceptor_.close(ignored);
    // close_idle() only cancels a pending read; sessions remove themselves from the set.
    std::vector<IdleConnection*> idle(idle_.begin(), idle_.end());
    for (auto* connection : idle) connection->close_idle();
    for (auto& [name, pool] : pools_) pool->close_idle();
  });
}

void Worker::refuse_tenant(std::string tenant, std::function<void()> done) {
  asio::post(io_, [this, tenant = std::move(tenant), done = std::move(done)] {
    // refuse_mid_body() only cancels a pending read; readers remove themselves from the set.
    std::vector<BodyReader*> readers;
    for (auto* reader : body_readers_) {
      if (reader->body_tenant() == tenant) readers.push_back(reader);
    }
    for (auto* reader : readers) reader->refuse_mid_body();
    done();
  });
}

std::shared_ptr<const Runtime> Worker::runtime() const { return shared_.runtimes.get(); }

std::shared_ptr<proxy::UpstreamPool> Worker::pool(const Runtime& runtime,
                                                  const std::string& upstream) {
  if (pools_runtime_.get() != &runtime) {
    // New config snapshot: start new pools; in-flight requests keep the old ones alive.
    pools_.clear();
    pools_runtime_ = runtime.shared_from_this();
  }
  auto it = pools_.find(upstream);
  if (it != pools_.end()) return it->second;
  const auto& config = runtime.config->upstreams.at(upstream);
  auto tls = runtime.upstream_tls.find(upstream);
  auto pool = std::make_shared<proxy::UpstreamPool>(
      config, tls == runtime.upstream_tls.end() ? nullptr : tls->second);
  pools_.emplace(upstream, pool);
  return pool;
}

awaitable<void> Worker::accept_loop(tcp::acceptor& acceptor, Serve serve) {
  auto& stats = common::stats();
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kUseTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      // Out of file descriptors or similar: back off briefly instead of spinning.
      log::error("accept failed", {{"error", ec.message()}});
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(kUseTuple);
      continue;
    }
    auto limit = static_cast<std::int64_t>(runtime()->config->server.max_connections);
    if (stats.open_connections.fetch_add(1, std::memory_order_relaxed) >= limit) {
      stats.open_connections.fetch_sub(1, std::memory_order_relaxed);
      stats.connections_refused_over_limit.fetch_add(1, std::memory_order_relaxed);
      error_code ignored;
      socket.close(ignored);
      continue;
    }
    asio::co_spawn(io_, serve(*this, std::move(socket)), &connection_done);
  }
}

}  // namespace mla::server
