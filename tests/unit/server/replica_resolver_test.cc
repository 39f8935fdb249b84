#include "gateway/server/replica_resolver.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway/ratelimit/fake_clock.h"

namespace mla::server {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr auto kWait = std::chrono::seconds(10);  // bound on every wait below

DnsAnswer ok(std::vector<std::string> ipv4, std::vector<std::string> ipv6 = {}) {
  DnsAnswer answer;
  answer.ipv4 = std::move(ipv4);
  answer.ipv6 = std::move(ipv6);
  return answer;
}

DnsAnswer failed(std::string error) {
  DnsAnswer answer;
  answer.error = std::move(error);
  return answer;
}

// A DNS the test answers one lookup at a time: a lookup waits until the test gives an answer
// (or the resolver cancels it); the n-th answer goes to the n-th lookup. Thread-safe.
class ScriptedDns {
 public:
  DnsAnswer lookup(const std::string& name, const std::atomic<bool>& cancel) {
    std::unique_lock lock(mutex_);
    names_.push_back(name);
    changed_.notify_all();
    const auto deadline = steady_clock::now() + kWait;
    while (answers_.empty() && !cancel.load() && steady_clock::now() < deadline) {
      changed_.wait_for(lock, milliseconds(5));
    }
    if (answers_.empty()) return failed("cancelled");
    DnsAnswer answer = std::move(answers_.front());
    answers_.pop_front();
    return answer;
  }

  // Answers lookup number n for the n-th answer given (lookups wait for theirs).
  void give(DnsAnswer answer) {
    std::lock_guard lock(mutex_);
    ++given_;
    answers_.push_back(std::move(answer));
    changed_.notify_all();
  }

  // give(), then wait until the lookup after the one it answers has started: the resolver has
  // acted on the answer by then.
  void answer(DnsAnswer answer) {
    give(std::move(answer));
    std::unique_lock lock(mutex_);
    REQUIRE(changed_.wait_for(lock, kWait, [&] { return names_.size() > given_; }));
  }

  void wait_calls(std::size_t n) {
    std::unique_lock lock(mutex_);
    REQUIRE(changed_.wait_for(lock, kWait, [&] { return names_.size() >= n; }));
  }

  std::vector<std::string> names() {
    std::lock_guard lock(mutex_);
    return names_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<DnsAnswer> answers_;
  std::size_t given_ = 0;           // answers given so far
  std::vector<std::string> names_;  // of every lookup started
};

std::shared_ptr<const Runtime> runtime_with(const ratelimit::LimitsConfig& limits) {
  auto config = std::make_shared<config::Config>();
  config->limits = limits;
  auto runtime = std::make_shared<Runtime>();
  runtime->config = config;
  return runtime;
}

bool eventually(const std::function<bool()>& predicate) {
  const auto deadline = steady_clock::now() + kWait;
  while (!predicate()) {
    if (steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return true;
}

struct Fixture {
  explicit Fixture(const ratelimit::LimitsConfig& limits)
      : runtimes(runtime_with(limits)),
        limiter(limits, clock),
        resolver(runtimes, limiter, status,
                 [this](const std::string& name, const std::string&,
                        const std::atomic<bool>& cancel) { return dns.lookup(name, cancel); }) {}

  ScriptedDns dns;
  RuntimeSource runtimes;
  ratelimit::FakeClock clock;
  ratelimit::TenantLimiter limiter;
  ratelimit::ReplicaStatus status;
  ReplicaResolver resolver;  // last: stopped first
};

ratelimit::LimitsConfig dns_limits(std::uint32_t replicas, std::string name) {
  ratelimit::LimitsConfig limits;
  limits.replicas = replicas;
  limits.replicas_from_dns = std::move(name);
  limits.replicas_dns_interval = milliseconds(1);
  return limits;
}

TEST_CASE("the resolver follows the DNS answer and keeps the last count on failures",
          "[server][replicas]") {
  Fixture f(dns_limits(3, "gw.test"));
  f.resolver.start();
  f.dns.wait_calls(1);
  CHECK(f.limiter.replicas() == 3);  // limits.replicas until a lookup succeeded

  f.dns.answer(ok({"10.0.0.1"}));
  CHECK(f.limiter.replicas() == 1);
  f.dns.answer(ok({"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.4"}));
  CHECK(f.limiter.replicas() == 4);
  f.dns.answer(failed("SERVFAIL"));
  f.dns.answer(failed("timed out"));
  CHECK(f.limiter.replicas() == 4);
  f.dns.answer(ok({"10.0.0.1", "10.0.0.2"}, {"fd00::1", "fd00::2"}));  // dual-stack: 2 pods
  CHECK(f.limiter.replicas() == 2);
  CHECK(f.status.dns_lookups_ok.load() == 3);
  CHECK(f.status.dns_lookups_error.load() == 2);
  for (const std::string& name : f.dns.names()) CHECK(name == "gw.test");
  f.resolver.stop();                              // cancels the lookup in progress
  CHECK(f.status.dns_lookups_error.load() == 2);  // a cancelled lookup is no DNS failure
}

TEST_CASE("a reload that renames the name drops the old name's count", "[server][replicas]") {
  Fixture f(dns_limits(3, "gw.test"));
  f.resolver.start();
  f.dns.answer(ok({"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"}));
  REQUIRE(f.limiter.replicas() == 5);

  f.runtimes.set(runtime_with(dns_limits(3, "other.test")));
  f.resolver.config_changed();
  f.dns.answer(failed("SERVFAIL"));  // the lookup of gw.test in progress; then other.test's
  CHECK(f.dns.names().back() == "other.test");
  CHECK(f.limiter.replicas() == 3);  // what gw.test gave is forgotten
  f.dns.answer(ok({"10.0.0.1", "10.0.0.2"}));
  CHECK(f.limiter.replicas() == 2);
}

TEST_CASE("a reload that removes the name falls back to limits.replicas and stops lookups",
          "[server][replicas]") {
  Fixture f(dns_limits(3, "gw.test"));
  f.resolver.start();
  f.dns.answer(ok({"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}));
  REQUIRE(f.limiter.replicas() == 4);

  const ratelimit::LimitsConfig off = dns_limits(2, "");
  f.runtimes.set(runtime_with(off));
  f.limiter.update_config(off);  // as Server::install() does; the DNS count still applies
  CHECK(f.limiter.replicas() == 4);
  f.resolver.config_changed();
  f.dns.give(failed("SERVFAIL"));  // releases the lookup in progress
  CHECK(eventually([&] { return f.limiter.replicas() == 2; }));
  const std::size_t calls = f.dns.names().size();
  std::this_thread::sleep_for(milliseconds(50));  // 50 intervals: no lookup without a name
  CHECK(f.dns.names().size() == calls);
}

TEST_CASE("lookup_addresses fails fast for a refusing server and honours cancel",
          "[server][replicas]") {
  std::atomic<bool> cancel{false};
  // Port 9 (discard) on loopback is closed here: ICMP port unreachable -> refused.
  const auto started = steady_clock::now();
  DnsAnswer refused = lookup_addresses("gw.test.", "127.0.0.1:9", cancel);
  CHECK_FALSE(refused.error.empty());
  CHECK(refused.ipv4.empty());
  CHECK(steady_clock::now() - started <= kDnsLookupDeadline + milliseconds(500));
  cancel = true;
  DnsAnswer cancelled = lookup_addresses("gw.test.", "127.0.0.1:9", cancel);
  CHECK_FALSE(cancelled.error.empty());
}

}  // namespace
}  // namespace mla::server
