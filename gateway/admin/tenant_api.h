// The tenant API of DESIGN.md §6 and the status summary behind `mla-gatewayctl status`:
// GET /api/v1/tenants, POST /api/v1/tenants/{tenant}/disable|enable, GET /api/v1/status.
// JSON in and out; errors are {"error": "one line"} with a 4xx/5xx status. Admin thread only.
#pragma once

#include <string>
#include <string_view>

#include "gateway/admin/admin_handler.h"

namespace mla::admin {

inline constexpr std::string_view kTenantsPath = "/api/v1/tenants";
inline constexpr std::string_view kStatusPath = "/api/v1/status";

Response json_error(int status, std::string_view message);

Response list_tenants(AdminContext& context);
// `rest` is the path after "/api/v1/tenants/": "{tenant}/disable" or "{tenant}/enable", the
// tenant percent-encoded. A disable is in effect on every worker and saved before the answer.
Response change_tenant(AdminContext& context, std::string_view rest, const std::string& body);
Response server_status(AdminContext& context);

}  // namespace mla::admin
