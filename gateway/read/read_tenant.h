// The tenant of a request on the read listener (DESIGN.md §3 `read.tenant_from`): no client
// certificate decides it here. `fixed`: tenant.fixed for every request (Kubermatic runs one
// gateway per user cluster). `header`: the caller's tenant header, accepted only if it is one
// valid tenant ID (DESIGN.md §5) that tenant.allowed (when set) lists. Pure; no sockets.
#pragma once

#include <boost/beast/http/fields.hpp>

#include "gateway/config/config.h"
#include "gateway/tenant/tenant_mapper.h"

namespace mla::read {

tenant::TenantResult read_tenant(const config::Config& config,
                                 const boost::beast::http::fields& fields);

}  // namespace mla::read
