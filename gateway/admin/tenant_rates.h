// Current per-tenant rates for the tenant API and the status page: the admin thread samples the
// tenants' cumulative counters once a second and keeps the last kWindow samples; a rate is the
// difference between the newest and the oldest sample over the time between them. Admin thread
// only (not thread-safe); the counters it reads are atomics.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

#include "gateway/common/tenant_counters.h"

namespace mla::admin {

struct TenantRate {
  double requests_per_second = 0;
  double samples_per_second = 0;
  double log_lines_per_second = 0;
  double log_bytes_per_second = 0;
};

class TenantRates {
 public:
  static constexpr std::size_t kWindow = 6;  // samples: rates over the last ~5 s

  // Takes one sample of every tenant's totals at `now`.
  void sample(std::chrono::steady_clock::time_point now, const common::TenantCounters& tenants);
  // Zero until two samples exist.
  TenantRate of(std::string_view tenant) const;

 private:
  struct Totals {
    std::uint64_t requests = 0, samples = 0, log_lines = 0, log_bytes = 0;
  };
  struct Sample {
    std::chrono::steady_clock::time_point at;
    std::unordered_map<std::string, Totals> tenants;
  };
  std::deque<Sample> samples_;  // oldest first, at most kWindow
};

}  // namespace mla::admin
