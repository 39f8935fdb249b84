// Process-wide counters of the data plane, declared in one place (exported on /metrics by the
// admin server). All members are atomics, touched by every worker thread without locks.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

namespace mla::common {

inline constexpr std::array<std::string_view, 9> kHandshakeFailureReasons = {
    "no_certificate", "unknown_ca", "expired", "revoked", "bad_certificate",
    "protocol",       "timeout",    "eof",     "other"};

struct Stats {
  std::atomic<std::int64_t> open_connections{0};
  std::atomic<std::uint64_t> connections_refused_over_limit{0};
  std::array<std::atomic<std::uint64_t>, kHandshakeFailureReasons.size()> handshake_failures{};

  void count_handshake_failure(std::string_view reason) {
    for (std::size_t i = 0; i < kHandshakeFailureReasons.size(); ++i) {
      if (kHandshakeFailureReasons[i] == reason) {
        handshake_failures[i].fetch_add(1, std::memory_order_relaxed);
        return;
      }
    }
    handshake_failures.back().fetch_add(1, std::memory_order_relaxed);
  }
};

Stats& stats();

}  // namespace mla::common
