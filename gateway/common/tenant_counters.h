// Per-tenant traffic counters (received samples, lines, bytes; rejections by reason), declared in
// one place and exported on /metrics. Shared by all workers: tenants live in shards, each a map
// under its own mutex taken only to find or create an entry; the counters themselves are atomics.
// Cardinality is bounded: beyond kMaxTenants distinct tenants, new ones are counted under
// kOverflowTenant, so a flood of certificates cannot grow memory without bound.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mla::common {

enum class RejectReason : std::uint8_t {
  kRateLimited,
  kDisabled,
  kTooLarge,
  kBadRequest,
  kForbidden,
  kUnsupportedMediaType,
};
inline constexpr std::array<std::string_view, 6> kRejectReasonNames = {
    "rate_limited", "disabled", "too_large", "bad_request", "forbidden", "unsupported_media_type"};

struct TenantTraffic {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> samples{0};  // samples + histograms + exemplars
  std::atomic<std::uint64_t> log_lines{0};
  std::atomic<std::uint64_t> log_bytes{0};   // uncompressed line + structured metadata bytes
  std::atomic<std::uint64_t> body_bytes{0};  // request bodies as received
  std::array<std::atomic<std::uint64_t>, kRejectReasonNames.size()> rejected{};
};

class TenantCounters {
 public:
  static constexpr std::size_t kMaxTenants = 10000;
  static constexpr std::string_view kOverflowTenant = "__other__";

  // The counters of `tenant` (created on first use); the reference stays valid for the life of
  // this object. Thread-safe.
  TenantTraffic& of(std::string_view tenant);
  void visit(const std::function<void(const std::string&, const TenantTraffic&)>& fn) const;

 private:
  static constexpr std::size_t kShards = 32;
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, std::unique_ptr<TenantTraffic>> tenants;  // guarded by mutex
  };
  std::array<Shard, kShards> shards_;
  std::atomic<std::size_t> size_{0};
};

}  // namespace mla::common
