#include "gateway/read/read_tenant.h"

#include <fmt/format.h>

#include <algorithm>

namespace mla::read {

tenant::TenantResult read_tenant(const config::Config& config,
                                 const boost::beast::http::fields& fields) {
  if (config.read.tenant_from == config::ReadTenantFrom::kFixed) return {config.tenant.fixed, ""};
  const std::string& header = config.tenant.header;
  auto [first, last] = fields.equal_range(header);
  if (first == last) return {"", fmt::format("missing {} header", header)};
  if (std::next(first) != last) return {"", fmt::format("more than one {} header", header)};
  const std::string_view value = first->value();
  // Cortex's multi-tenant queries ("a|b") are not accepted: one request, one tenant to charge.
  if (!tenant::is_valid_tenant_id(value)) {
    return {"", fmt::format("{} {:?} is not a valid tenant ID", header,
                            std::string(value.substr(0, 160)))};
  }
  const auto& allowed = config.tenant.allowed;
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
    return {"", fmt::format("tenant {:?} is not in tenant.allowed", std::string(value))};
  }
  return {std::string(value), ""};
}

}  // namespace mla::read
