// Keeps the rate limits' divisor equal to the number of gateway replicas behind
// limits.replicas_from_dns (a headless Service): resolves the name every replicas_dns_interval
// and hands the count to TenantLimiter::set_dns_replicas(). A failed lookup keeps the last count;
// until the first success, limits.replicas applies.
//
// Threads: lookups run on the resolver's own thread (c-ares, dns_lookup.h), so neither a worker
// nor the control thread ever waits for DNS. That thread reads the current config itself
// (RuntimeSource) before every lookup, so a reload that adds, changes or removes the name applies
// at the next lookup, which config_changed() brings forward to now. start(), config_changed() and
// stop() may be called from any other thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "gateway/ratelimit/replica_count.h"
#include "gateway/ratelimit/replica_status.h"
#include "gateway/ratelimit/tenant_limiter.h"
#include "gateway/server/dns_lookup.h"
#include "gateway/server/runtime_source.h"

namespace mla::server {

class ReplicaResolver {
 public:
  // (name, server, cancel) -> answer; lookup_addresses() in production, a fake in tests.
  using Lookup = std::function<DnsAnswer(const std::string& name, const std::string& server,
                                         const std::atomic<bool>& cancel)>;

  // All references must outlive the resolver.
  ReplicaResolver(const RuntimeSource& runtimes, ratelimit::TenantLimiter& limiter,
                  ratelimit::ReplicaStatus& status, Lookup lookup = lookup_addresses);
  ReplicaResolver(const ReplicaResolver&) = delete;
  ReplicaResolver& operator=(const ReplicaResolver&) = delete;
  ~ReplicaResolver();  // stop()

  // Starts the thread (once). With no name configured it only re-reads the config each interval.
  void start();
  // The config was replaced: re-read it and, if a name is configured, look it up now.
  void config_changed();
  // Cancels a lookup in progress and joins the thread; idempotent.
  void stop();

 private:
  void run();
  // Resolver thread: one lookup of count_.name() via `server`.
  void resolve(const std::string& server);

  const RuntimeSource& runtimes_;
  ratelimit::TenantLimiter& limiter_;
  ratelimit::ReplicaStatus& status_;
  const Lookup lookup_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;            // guarded by mutex_
  bool changed_ = false;             // guarded by mutex_
  std::atomic<bool> cancel_{false};  // set with stopping_; read by the lookup in progress
  std::thread thread_;               // started and joined by the owner's thread

  ratelimit::DnsReplicaCount count_;  // resolver thread only
};

}  // namespace mla::server
