#include "gateway/server/runtime_source.h"

namespace mla::server {
namespace {

std::atomic<std::uint64_t> g_next_source_id{1};  // 0 marks an empty ThreadCopy

struct ThreadCopy {
  std::uint64_t owner = 0;
  std::uint64_t version = 0;
  std::shared_ptr<const Runtime> runtime;
};
thread_local ThreadCopy t_copy;

}  // namespace

RuntimeSource::RuntimeSource(std::shared_ptr<const Runtime> initial)
    : id_(g_next_source_id.fetch_add(1, std::memory_order_relaxed)), current_(std::move(initial)) {}

std::shared_ptr<const Runtime> RuntimeSource::get() const {
  ThreadCopy& copy = t_copy;
  if (copy.owner != id_ || copy.version != version_.load(std::memory_order_acquire)) {
    std::lock_guard lock(mutex_);
    copy.owner = id_;
    copy.version = version_.load(std::memory_order_relaxed);  // stable while we hold mutex_
    copy.runtime = current_;
  }
  return copy.runtime;
}

void RuntimeSource::set(std::shared_ptr<const Runtime> next) {
  std::lock_guard lock(mutex_);
  current_ = std::move(next);
  version_.fetch_add(1, std::memory_order_release);
}

}  // namespace mla::server
