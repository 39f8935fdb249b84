#include "gateway/http1/header_policy.h"

#include <boost/beast/http/rfc7230.hpp>
#include <string>
#include <vector>

namespace mla::http1 {

namespace http = boost::beast::http;

void strip_hop_by_hop(http::fields& fields) {
  // Fields named in Connection are hop-by-hop too; collect them before erasing Connection.
  std::vector<std::string> named;
  auto [first, last] = fields.equal_range(http::field::connection);
  for (auto it = first; it != last; ++it) {
    for (auto token : http::token_list{it->value()}) named.emplace_back(token);
  }
  for (const auto& name : named) fields.erase(name);
  for (auto f : {http::field::connection, http::field::keep_alive, http::field::proxy_connection,
                 http::field::proxy_authenticate, http::field::proxy_authorization, http::field::te,
                 http::field::trailer, http::field::transfer_encoding, http::field::upgrade}) {
    fields.erase(f);
  }
}

void prepare_upstream_headers(http::fields& fields, std::string_view tenant_header,
                              std::string_view tenant, std::string_view upstream_host) {
  strip_hop_by_hop(fields);
  // The gateway has read the whole body already; the upstream must not answer 100 Continue.
  fields.erase(http::field::expect);
  fields.erase(tenant_header);  // erases every instance, case-insensitively
  fields.set(tenant_header, tenant);
  fields.set(http::field::host, upstream_host);
}

}  // namespace mla::http1
