// Inspect -> charge (DESIGN.md §4): counts what a push request carries and charges the tenant's
// token buckets. Policy only, no sockets: the session calls it with the request read so far.
#pragma once

#include <string>
#include <string_view>

#include "gateway/common/tenant_counters.h"
#include "gateway/config/config.h"
#include "gateway/ingest/scan_types.h"
#include "gateway/ratelimit/tenant_limiter.h"

namespace mla::proxy {

struct AdmissionRequest {
  std::string_view tenant;
  std::string_view content_type;
  std::string_view content_encoding;
  std::string_view body;  // the original bytes, as they will be forwarded
};

struct Admission {
  bool admitted = true;
  int status = 0;      // when rejected: 400/413/415 or the configured limited_status
  std::string reason;  // one line, safe to send to the client
  common::RejectReason reject_reason = common::RejectReason::kBadRequest;
  std::int64_t retry_after_seconds = 0;  // > 0 only for rate-limit rejections
  ingest::Counts counts;
};

// Scans (unless the route has `scan: false` or is passthrough), then charges the tenant's
// metrics or logs buckets. `scratch` belongs to the calling worker. Thread-safe otherwise.
Admission admit(const config::Config& config, const config::RouteConfig& route,
                const AdmissionRequest& request, ingest::ScanBuffers& scratch,
                ratelimit::TenantLimiter& limiter);

// Adds an admitted request to the tenant's traffic counters.
void count_admitted(common::TenantTraffic& traffic, const Admission& admission,
                    std::size_t body_bytes);

}  // namespace mla::proxy
