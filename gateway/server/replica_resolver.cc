#include "gateway/server/replica_resolver.h"

#include <memory>
#include <utility>

#include "gateway/common/logging.h"

namespace mla::server {

ReplicaResolver::ReplicaResolver(const RuntimeSource& runtimes, ratelimit::TenantLimiter& limiter,
                                 ratelimit::ReplicaStatus& status, Lookup lookup)
    : runtimes_(runtimes), limiter_(limiter), status_(status), lookup_(std::move(lookup)) {}

ReplicaResolver::~ReplicaResolver() { stop(); }

void ReplicaResolver::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void ReplicaResolver::config_changed() {
  {
    std::lock_guard lock(mutex_);
    changed_ = true;
  }
  wake_.notify_all();
}

void ReplicaResolver::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    cancel_.store(true, std::memory_order_relaxed);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ReplicaResolver::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    changed_ = false;
    lock.unlock();
    // Copies: the Runtime may be replaced while the lookup runs.
    const std::shared_ptr<const config::Config> config = runtimes_.get()->config;
    const ratelimit::LimitsConfig& limits = config->limits;
    if (limits.replicas_from_dns != count_.name()) {
      // A new name (or none): what the old one gave no longer applies.
      count_.reset(limits.replicas_from_dns);
      limiter_.set_dns_replicas(0);
      if (!count_.name().empty()) {
        log::info("limits.replicas_from_dns: resolving",
                  {{"name", count_.name()},
                   {"server",
                    limits.replicas_dns_server.empty() ? "system" : limits.replicas_dns_server}});
      }
    }
    if (!count_.name().empty()) resolve(limits.replicas_dns_server);
    const auto interval = limits.replicas_dns_interval;
    lock.lock();
    wake_.wait_for(lock, interval, [this] { return stopping_ || changed_; });
  }
}

void ReplicaResolver::resolve(const std::string& server) {
  DnsAnswer answer = lookup_(count_.name(), server, cancel_);
  if (cancel_.load(std::memory_order_relaxed)) return;  // stopping: not a DNS failure
  if (!answer.error.empty()) {
    status_.dns_lookups_error.fetch_add(1, std::memory_order_relaxed);
    count_.failed();
    const std::string kept = std::to_string(limiter_.replicas());
    // The first failure of a run is a warning; repeats every interval would flood the log.
    if (count_.failures_in_a_row() == 1) {
      log::warn("limits.replicas_from_dns lookup failed; keeping the last replica count",
                {{"name", count_.name()}, {"error", answer.error}, {"replicas", kept}});
    } else {
      log::debug("limits.replicas_from_dns lookup failed; keeping the last replica count",
                 {{"name", count_.name()}, {"error", answer.error}, {"replicas", kept}});
    }
    return;
  }
  status_.dns_lookups_ok.fetch_add(1, std::memory_order_relaxed);
  const std::uint32_t replicas =
      ratelimit::count_replicas(std::move(answer.ipv4), std::move(answer.ipv6));
  const bool changed = replicas != count_.count();
  count_.succeeded(replicas);
  limiter_.set_dns_replicas(replicas);
  if (changed) {
    log::info("limits.replicas_from_dns: replica count changed; rates are divided by it",
              {{"name", count_.name()}, {"replicas", std::to_string(replicas)}});
  }
}

}  // namespace mla::server
