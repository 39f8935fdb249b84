// One worker = one thread, one io_context, its own SO_REUSEPORT listener and its own upstream
// pools (thread-per-core: nothing here is shared with other workers except the Runtime
// snapshot and the atomic counters). Public methods marked "any thread" post to the worker.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "gateway/common/asio.h"
#include "gateway/ingest/scan_types.h"
#include "gateway/proxy/upstream_pool.h"
#include "gateway/server/shared_state.h"

namespace mla::server {

// A connection that can be closed while it waits for its next request (for graceful drain).
class IdleConnection {
 public:
  virtual ~IdleConnection() = default;
  virtual void close_idle() = 0;
};

// A request reading its body: refused mid-read when its tenant is disabled (the kill switch
// must not wait for a slow or large upload to finish).
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  virtual std::string_view body_tenant() const = 0;
  virtual void refuse_mid_body() = 0;
};

class Worker {
 public:
  Worker(unsigned index, SharedState& shared);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Binds this worker's listener (SO_REUSEPORT, so every worker binds the same port). Throws.
  void listen(const tcp::endpoint& endpoint);
  // Likewise for the read listener (DESIGN.md §3 `read`), if there is one.
  void listen_read(const tcp::endpoint& endpoint);
  void start();  // starts the thread
  void join();
  void drain();  // any thread: stop accepting, close idle connections, finish in-flight ones
  void stop();   // any thread: stop the event loop now
  // Any thread: refuses `tenant`'s requests that are reading a body on this worker, then calls
  // `done` on the worker thread. New requests are refused by the TenantSwitch itself.
  void refuse_tenant(std::string tenant, std::function<void()> done);

  // Worker thread only.
  std::shared_ptr<const Runtime> runtime() const;
  // The pool of `upstream` for this runtime snapshot (created on first use).
  std::shared_ptr<proxy::UpstreamPool> pool(const Runtime& runtime, const std::string& upstream);
  bool draining() const { return draining_; }
  void add_idle(IdleConnection* connection) { idle_.insert(connection); }
  void remove_idle(IdleConnection* connection) { idle_.erase(connection); }
  void add_body_reader(BodyReader* reader) { body_readers_.insert(reader); }
  void remove_body_reader(BodyReader* reader) { body_readers_.erase(reader); }
  unsigned index() const { return index_; }
  SharedState& shared() { return shared_; }
  ingest::ScanBuffers& scan_buffers() { return scan_buffers_; }

 private:
  using Serve = awaitable<void> (*)(Worker&, tcp::socket);
  awaitable<void> accept_loop(tcp::acceptor& acceptor, Serve serve);

  const unsigned index_;
  SharedState& shared_;     // owned by the Server, outlives workers
  asio::io_context io_{1};  // concurrency hint 1: only this worker's thread runs it
  tcp::acceptor acceptor_{io_};
  tcp::acceptor read_acceptor_{io_};  // open only with a read listener
  std::thread thread_;
  bool draining_ = false;  // worker thread only
  // Pools of the runtime they were built for; rebuilt when the runtime snapshot changes.
  std::shared_ptr<const Runtime> pools_runtime_;
  std::map<std::string, std::shared_ptr<proxy::UpstreamPool>> pools_;
  std::set<IdleConnection*> idle_;      // connections waiting for a request; worker thread only
  std::set<BodyReader*> body_readers_;  // requests reading a body; worker thread only
  ingest::ScanBuffers scan_buffers_;    // decompression scratch reused by every scan on this thread
};

}  // namespace mla::server
