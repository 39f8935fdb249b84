// Lifecycle state the admin API reports (/-/ready, config_last_reload_*). Written by the
// Server's control thread, read by the admin thread; every member is an atomic.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace mla::admin {

struct ServerStatus {
  std::atomic<bool> listening{false};  // every data-plane listener is bound and accepting
  std::atomic<bool> draining{false};   // a stop signal arrived
  std::atomic<bool> last_reload_successful{false};
  std::atomic<std::int64_t> last_reload_success_ms{0};  // Unix time, milliseconds; 0 = never
  // notAfter of the serving certificate in use (Unix s); 0 = unknown.
  std::atomic<std::int64_t> certificate_not_after_s{0};

  bool certificate_expired() const {
    const std::int64_t not_after = certificate_not_after_s.load();
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    return not_after != 0 && not_after < now;
  }
  bool ready() const { return listening.load() && !draining.load() && !certificate_expired(); }

  // The initial load counts as a successful reload (as in Prometheus).
  void reload_succeeded(std::chrono::system_clock::time_point at) {
    last_reload_success_ms.store(
        std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count());
    last_reload_successful.store(true);
  }
  void reload_failed() { last_reload_successful.store(false); }
};

}  // namespace mla::admin
