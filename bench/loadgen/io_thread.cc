#include "bench/loadgen/io_thread.h"

namespace mla::bench {

IoThread::IoThread(int index) : index_(index), work_(asio::make_work_guard(context_)) {}

IoThread::~IoThread() {
  stop();
  // Destroy the connections while the io_context still exists; coroutine frames still pending
  // in it are destroyed with it.
  free_connections.clear();
  connections.clear();
}

void IoThread::start() {
  thread_ = std::thread([this] { context_.run(); });
}

void IoThread::stop() {
  context_.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace mla::bench
