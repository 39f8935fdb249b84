// Where workers get the current Runtime; a reload publishes a new one.
//
// Not std::atomic<std::shared_ptr>: GCC 12's load() releases its internal lock bit with a relaxed
// store, a data race TSan reports (seen with reloads under load; google/sanitizers#1558), and
// every load writes that shared word. Instead each thread keeps its own copy of the published
// pointer and an atomic version tells it when to refresh, under a mutex, once per reload.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "gateway/server/runtime.h"

namespace mla::server {

class RuntimeSource {
 public:
  explicit RuntimeSource(std::shared_ptr<const Runtime> initial);
  RuntimeSource(const RuntimeSource&) = delete;
  RuntimeSource& operator=(const RuntimeSource&) = delete;

  // Any thread. A thread's copy keeps the Runtime it last saw alive until its next get() after
  // a set() (or until the thread ends).
  std::shared_ptr<const Runtime> get() const;
  // Any thread.
  void set(std::shared_ptr<const Runtime> next);

 private:
  const std::uint64_t id_;  // unique per source: keys the per-thread copy (addresses get reused)
  mutable std::mutex mutex_;
  std::shared_ptr<const Runtime> current_;  // guarded by mutex_
  std::atomic<std::uint64_t> version_{1};   // bumped under mutex_ after current_ changes
};

}  // namespace mla::server
