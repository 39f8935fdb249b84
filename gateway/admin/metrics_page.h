// GET /metrics: every series of DESIGN.md §7 (prefix mla_gateway_) plus the standard process_*
// series, rendered from the live counters. Admin thread; reads only atomics and sharded maps.
//
// Label notes: received_bytes_total and rejected_requests_total carry route="all" because the
// per-tenant counters (common::TenantCounters) are not kept per route. Cardinality is bounded by
// TenantCounters::kMaxTenants and RequestMetrics::kMax*Series (overflow label "__other__").
#pragma once

#include <string>

#include "gateway/admin/admin_handler.h"

namespace mla::admin {

inline constexpr std::string_view kAllRoutes = "all";

std::string render_metrics(const AdminContext& context);

}  // namespace mla::admin
