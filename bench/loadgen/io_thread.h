// One io thread of mla-loadgen: its io_context, the connections it drives and what it observed.
// Everything here is touched only by that thread while it runs; the controller reads `stats`
// after stop() has joined it.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "bench/loadgen/client_connection.h"
#include "bench/loadgen/stats.h"
#include "gateway/common/asio.h"

namespace mla::bench {

class IoThread {
 public:
  explicit IoThread(int index);
  ~IoThread();
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  void start();
  // Stops the io_context (pending requests are abandoned, not counted) and joins the thread.
  void stop();

  int index() const { return index_; }
  asio::io_context& context() { return context_; }
  asio::any_io_executor executor() { return context_.get_executor(); }

 private:
  const int index_;
  // Declared before the connections below, so destroyed after them: sockets need it.
  asio::io_context context_{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;

 public:
  // closed/open/idle: this thread's share of the connections.
  std::vector<std::unique_ptr<ClientConnection>> connections;
  // closed mode: stream slots no worker holds, FIFO; a connection appears once per stream it
  // may carry (--streams; 1 for HTTP/1.1).
  std::deque<ClientConnection*> free_connections;
  std::uint64_t next_index = 0;  // open: next request; handshake: next connection
  Stats stats;
};

}  // namespace mla::bench
