#include "gateway/admin/admin_handler.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "gateway/admin/metrics_page.h"
#include "tests/support/test_certs.h"

namespace mla::admin {
namespace {

using namespace std::chrono_literals;

// Fresh counters for each test (not the process-wide instances) and fixed process values.
struct Fixture {
  common::Stats stats;
  common::TenantCounters tenants;
  common::RequestMetrics requests;
  ServerStatus status;
  std::shared_ptr<const config::Config> config = std::make_shared<config::Config>();
  AdminContext context{
      .stats = stats,
      .tenants = tenants,
      .requests = requests,
      .status = status,
      .config = [this] { return config; },
      .process =
          [] {
            return std::optional<ProcessStats>({12.5, 4096, 9, 1700000000});
          },
      .switches = nullptr,
      .persist = {},
      .enforce = {},
      .reload = {},
      .rates = {},
      .started = std::chrono::steady_clock::now(),
  };

  Response get(const std::string& target) {
    return handle_admin({.method = "GET", .target = target}, context);
  }
};

// The sample line of `series` (name and labels exactly as rendered), without the value.
bool has_sample(const std::string& text, const std::string& series, const std::string& value) {
  return text.find("\n" + series + " " + value + "\n") != std::string::npos;
}

TEST_CASE("/-/healthy answers 200 OK whatever the lifecycle state", "[admin]") {
  Fixture f;
  auto r = f.get("/-/healthy");
  CHECK(r.status == 200);
  CHECK(r.body == "OK\n");
}

TEST_CASE("/-/ready is 503 while starting, 200 when listening, 503 once draining", "[admin]") {
  Fixture f;
  CHECK(f.get("/-/ready").status == 503);
  CHECK_THAT(f.get("/-/ready").body, Catch::Contains("starting"));
  f.status.listening = true;
  CHECK(f.get("/-/ready").status == 200);
  CHECK(f.get("/-/ready?verbose=1").status == 200);  // queries are ignored
  f.status.draining = true;
  CHECK(f.get("/-/ready").status == 503);
  CHECK_THAT(f.get("/-/ready").body, Catch::Contains("draining"));
}

TEST_CASE("unknown paths are 404, HEAD is GET without a body, other methods 405", "[admin]") {
  Fixture f;
  CHECK(f.get("/nope").status == 404);
  CHECK(f.get("/metrics/").status == 404);
  auto head = handle_admin({.method = "HEAD", .target = "/-/healthy"}, f.context);
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  for (const char* method : {"POST", "PUT", "DELETE"}) {
    INFO(method);
    auto r = handle_admin({.method = method, .target = "/metrics"}, f.context);
    CHECK(r.status == 405);
    REQUIRE(r.headers.size() == 1);
    CHECK(r.headers[0] == std::pair<std::string, std::string>("Allow", "GET"));
  }
}

TEST_CASE("/metrics is text format 0.0.4 with the §7 series by name", "[admin]") {
  Fixture f;
  f.status.reload_succeeded(std::chrono::system_clock::time_point(1700000000500ms));
  f.stats.open_connections = 3;
  f.stats.count_handshake_failure("unknown_ca");
  f.stats.count_handshake_failure("unknown_ca");
  auto& a = f.tenants.of("tenant-a");
  a.samples = 100;
  a.log_lines = 7;
  a.body_bytes = 2048;
  a.rejected[static_cast<std::size_t>(common::RejectReason::kRateLimited)] = 4;
  f.requests.count_request("tenant-a", "/api/v1/push", 200);
  f.requests.count_request("tenant-a", "/api/v1/push", 200);
  f.requests.count_request("", "", 403);
  f.requests.count_upstream("cortex", 204, false, 20ms);
  f.requests.count_upstream("cortex", 0, true, 30s);
  {
    common::RequestTimer timer(f.requests);
    timer.set_route("/api/v1/push");
  }

  auto r = f.get("/metrics");
  REQUIRE(r.status == 200);
  CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
  const std::string text = "\n" + r.body;
  const std::string p = "mla_gateway_";
  CHECK(has_sample(text, p + R"(requests_total{tenant="tenant-a",route="/api/v1/push",code="200"})",
                   "2"));
  CHECK(has_sample(text, p + R"(requests_total{tenant="__none__",route="none",code="403"})", "1"));
  CHECK(has_sample(text, p + R"(request_duration_seconds_count{route="/api/v1/push"})", "1"));
  CHECK(has_sample(text, p + R"(received_samples_total{tenant="tenant-a"})", "100"));
  CHECK(has_sample(text, p + R"(received_log_lines_total{tenant="tenant-a"})", "7"));
  CHECK(has_sample(text, p + R"(received_bytes_total{tenant="tenant-a",route="all"})", "2048"));
  CHECK(has_sample(
      text, p + R"(rejected_requests_total{tenant="tenant-a",route="all",reason="rate_limited"})",
      "4"));
  CHECK(has_sample(
      text, p + R"(rejected_requests_total{tenant="tenant-a",route="all",reason="forbidden"})",
      "0"));
  CHECK(has_sample(text, p + R"(upstream_requests_total{upstream="cortex",code="204"})", "1"));
  CHECK(has_sample(text, p + R"(upstream_requests_total{upstream="cortex",code="timeout"})", "1"));
  CHECK(has_sample(text, p + R"(upstream_duration_seconds_bucket{upstream="cortex",le="0.025"})",
                   "1"));
  CHECK(
      has_sample(text, p + R"(upstream_duration_seconds_bucket{upstream="cortex",le="30"})", "2"));
  CHECK(has_sample(text, p + R"(upstream_duration_seconds_sum{upstream="cortex"})", "30.02"));
  CHECK(has_sample(text, p + R"(tls_handshake_failures_total{reason="unknown_ca"})", "2"));
  CHECK(has_sample(text, p + R"(tls_handshake_failures_total{reason="expired"})", "0"));
  CHECK(has_sample(text, p + "open_connections", "3"));
  CHECK(has_sample(text, p + "config_last_reload_successful", "1"));
  CHECK(has_sample(text, p + "config_last_reload_success_timestamp_seconds", "1700000000.5"));
  CHECK(has_sample(text, "process_cpu_seconds_total", "12.5"));
  CHECK(has_sample(text, "process_resident_memory_bytes", "4096"));
  CHECK(has_sample(text, "process_open_fds", "9"));
  CHECK(has_sample(text, "process_start_time_seconds", "1700000000"));
  CHECK_THAT(text, Catch::Contains("# TYPE mla_gateway_request_duration_seconds histogram\n"));
  CHECK_THAT(text, Catch::Contains("# TYPE mla_gateway_open_connections gauge\n"));
  CHECK_THAT(text, Catch::Contains("# TYPE process_cpu_seconds_total counter\n"));

  f.status.reload_failed();
  CHECK(has_sample("\n" + f.get("/metrics").body, p + "config_last_reload_successful", "0"));
}

TEST_CASE("certificate expiry is reported per configured file; unreadable files are skipped",
          "[admin]") {
  testing::TempDir dir;
  testing::TestCa ca(dir.path());
  auto server = ca.issue({.common_name = "gateway", .not_after = std::chrono::hours(48)});
  auto config = std::make_shared<config::Config>();
  config->tls.cert_file = server.cert_file;
  config->tls.client_ca_file = dir.file("missing.crt");
  Fixture f;
  f.config = config;
  f.context.certificates = [config] { return tls::read_certificate_expiry(*config); };
  const std::string text = f.get("/metrics").body;
  const auto in_48h = std::chrono::duration_cast<std::chrono::seconds>(
                          (std::chrono::system_clock::now() + 48h).time_since_epoch())
                          .count();
  const std::string series =
      "mla_gateway_certificate_expiry_timestamp_seconds{file=\"" + server.cert_file + "\"} ";
  auto at = text.find(series);
  REQUIRE(at != std::string::npos);
  const double value = std::stod(text.substr(at + series.size()));
  CHECK(std::abs(value - static_cast<double>(in_48h)) < 120);
  CHECK_THAT(text, !Catch::Contains("missing.crt"));
}

TEST_CASE("a failing renderer is a 500 with a reason, not an exception", "[admin]") {
  Fixture f;
  f.context.process = []() -> std::optional<ProcessStats> { throw std::runtime_error("boom"); };
  auto r = f.get("/metrics");
  CHECK(r.status == 500);
  CHECK_THAT(r.body, Catch::Contains("boom"));
}

}  // namespace
}  // namespace mla::admin
