#include "gateway/proxy/admission.h"

#include "gateway/ingest/payload_scanner.h"

namespace mla::proxy {
namespace {

common::RejectReason reason_for_status(int status) {
  switch (status) {
    case 413: return common::RejectReason::kTooLarge;
    case 415: return common::RejectReason::kUnsupportedMediaType;
    default: return common::RejectReason::kBadRequest;
  }
}

}  // namespace

Admission admit(const config::Config& config, const config::RouteConfig& route,
                const AdmissionRequest& request, ingest::ScanBuffers& scratch,
                ratelimit::TenantLimiter& limiter) {
  Admission admission;
  if (route.kind == config::RouteKind::kPassthrough) return admission;
  const bool metrics = route.kind == config::RouteKind::kPrometheusRemoteWrite;

  if (route.scan) {
    ingest::ScanLimits limits;
    limits.max_decompressed_bytes = config.server.max_decompressed_bytes;
    ingest::ScanResult scan =
        ingest::scan_payload(route.kind, {request.content_type, request.content_encoding},
                             request.body, scratch, limits);
    if (!scan.ok()) {
      admission.admitted = false;
      admission.status = scan.http_status;
      admission.reason = std::move(scan.reason);
      admission.reject_reason = reason_for_status(scan.http_status);
      return admission;
    }
    admission.counts = scan.counts;
  }

  // Without inspection only the wire size is known: it stands in for the log bytes.
  ratelimit::Cost cost;
  if (metrics) {
    cost.units = static_cast<double>(admission.counts.metric_cost());
    cost.bytes = static_cast<double>(request.body.size());
  } else {
    cost.units = static_cast<double>(admission.counts.log_lines);
    cost.bytes = static_cast<double>(route.scan ? admission.counts.log_bytes : request.body.size());
  }
  auto decision = limiter.charge(
      request.tenant, metrics ? ratelimit::Signal::kMetrics : ratelimit::Signal::kLogs, cost);
  if (!decision.admitted) {
    admission.admitted = false;
    admission.status = config.limits.limited_status;
    admission.reason = ratelimit::describe(decision);
    admission.reject_reason = common::RejectReason::kRateLimited;
    admission.retry_after_seconds = decision.retry_after_seconds;
  }
  return admission;
}

void count_admitted(common::TenantTraffic& traffic, const Admission& admission,
                    std::size_t body_bytes) {
  traffic.requests.fetch_add(1, std::memory_order_relaxed);
  traffic.samples.fetch_add(admission.counts.metric_cost(), std::memory_order_relaxed);
  traffic.log_lines.fetch_add(admission.counts.log_lines, std::memory_order_relaxed);
  traffic.log_bytes.fetch_add(admission.counts.log_bytes, std::memory_order_relaxed);
  traffic.body_bytes.fetch_add(body_bytes, std::memory_order_relaxed);
}

}  // namespace mla::proxy
