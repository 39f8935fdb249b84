// The admin API as plain functions from request to response (DESIGN.md §6): no sockets, so the
// listener and the control socket (admin_server.h) serve the same handlers and tests call them
// directly: /metrics, /-/healthy, /-/ready, /-/reload, the tenant API, the status page.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gateway/admin/process_stats.h"
#include "gateway/admin/server_status.h"
#include "gateway/admin/tenant_rates.h"
#include "gateway/common/metrics.h"
#include "gateway/common/stats.h"
#include "gateway/common/tenant_counters.h"
#include "gateway/config/config.h"
#include "gateway/tenant/tenant_switch.h"
#include "gateway/tls/tls_files.h"

namespace mla::admin {

struct Request {
  std::string method{};  // "GET", "POST", ...
  std::string target{};  // path and optional query
  std::string body{};
  std::string authorization{};  // the Authorization header, if any
  bool trusted = false;         // from the control socket: its file mode is the access control
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond Content-Type/-Length
};

// What the handlers read. The referenced objects outlive the admin server and are thread-safe
// (atomics, sharded maps); the handlers run on the admin thread.
struct AdminContext {
  const common::Stats& stats;
  const common::TenantCounters& tenants;
  const common::RequestMetrics& requests;
  const ServerStatus& status;
  // The current config snapshot (which certificate files to report). Thread-safe.
  std::function<std::shared_ptr<const config::Config>()> config;
  // notAfter of each certificate file as the running config loaded it (not as the file is now:
  // a rotation that was refused must not look done). Thread-safe.
  std::function<tls::CertificateExpiry()> certificates{};
  // Reads process_* values; tests inject fixed ones.
  std::function<std::optional<ProcessStats>()> process = read_process_stats;

  // The kill switch. The admin thread is its only writer, so a change and its save are never
  // interleaved with another change.
  tenant::TenantSwitch* switches = nullptr;  // null: the tenant API answers 503
  // Writes the disabled tenants to admin.state_file; throws std::runtime_error. Empty: no file.
  std::function<void(const tenant::DisabledMap&)> persist;
  // Returns once every worker refuses `tenant`, requests already reading a body included.
  std::function<void(const std::string& tenant)> enforce;
  // Re-reads the config and certificates; "" on success, else why the old config was kept.
  std::function<std::string()> reload;
  TenantRates rates;  // sampled by the admin server once a second
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

// Never throws: an internal failure is a 500 with a one-line reason.
Response handle_admin(const Request& request, AdminContext& context);

}  // namespace mla::admin
