#include "gateway/admin/tenant_rates.h"

#include <catch2/catch.hpp>
#include <chrono>

namespace mla::admin {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST_CASE("rates are the counter growth over the sampled window", "[admin]") {
  common::TenantCounters tenants;
  TenantRates rates;
  const Clock::time_point t0{};
  auto& a = tenants.of("a");
  rates.sample(t0, tenants);
  CHECK(rates.of("a").samples_per_second == 0);  // one sample: no rate yet

  a.requests = 4;
  a.samples = 1000;
  a.log_lines = 20;
  a.log_bytes = 2000;
  rates.sample(t0 + 2s, tenants);
  auto r = rates.of("a");
  CHECK(r.requests_per_second == Approx(2));
  CHECK(r.samples_per_second == Approx(500));
  CHECK(r.log_lines_per_second == Approx(10));
  CHECK(r.log_bytes_per_second == Approx(1000));
  CHECK(rates.of("unknown").requests_per_second == 0);
}

TEST_CASE("a tenant first seen inside the window counts from zero", "[admin]") {
  common::TenantCounters tenants;
  TenantRates rates;
  const Clock::time_point t0{};
  rates.sample(t0, tenants);
  tenants.of("new").samples = 300;
  rates.sample(t0 + 1s, tenants);
  CHECK(rates.of("new").samples_per_second == Approx(300));
}

TEST_CASE("old samples leave the window, so a stopped tenant falls to zero", "[admin]") {
  common::TenantCounters tenants;
  TenantRates rates;
  const Clock::time_point t0{};
  auto& a = tenants.of("a");
  rates.sample(t0, tenants);
  a.samples = 600;
  rates.sample(t0 + 1s, tenants);
  CHECK(rates.of("a").samples_per_second == Approx(600));
  for (int i = 2; i <= static_cast<int>(TenantRates::kWindow) + 1; ++i) {
    rates.sample(t0 + std::chrono::seconds(i), tenants);
  }
  CHECK(rates.of("a").samples_per_second == 0);
}

}  // namespace
}  // namespace mla::admin
