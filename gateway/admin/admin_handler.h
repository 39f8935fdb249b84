// The admin API as plain functions from request to response (DESIGN.md §6): no sockets, so the
// listener (admin_server.h) and, later, the control socket serve the same handlers and tests call
// them directly. Today: GET /metrics, /-/healthy and /-/ready.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gateway/admin/process_stats.h"
#include "gateway/admin/server_status.h"
#include "gateway/common/metrics.h"
#include "gateway/common/stats.h"
#include "gateway/common/tenant_counters.h"
#include "gateway/config/config.h"

namespace mla::admin {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and optional query
  std::string body;
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
  // Reads process_* values; tests inject fixed ones.
  std::function<std::optional<ProcessStats>()> process = read_process_stats;
};

// Never throws: an internal failure is a 500 with a one-line reason.
Response handle_admin(const Request& request, AdminContext& context);

}  // namespace mla::admin
