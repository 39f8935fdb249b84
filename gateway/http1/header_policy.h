// Header rewriting between client and upstream (DESIGN.md §4). Pure functions over Beast field
// sets, no sockets: hop-by-hop removal (RFC 9110 §7.6.1, including fields named in Connection)
// and the tenant header, which is always replaced — a client-sent value never reaches upstream.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <string_view>

namespace mla::http1 {

// Removes Connection, Keep-Alive, Proxy-Connection, Proxy-Authenticate, Proxy-Authorization, TE,
// Trailer, Transfer-Encoding, Upgrade and every field listed in Connection.
void strip_hop_by_hop(boost::beast::http::fields& fields);

// strip_hop_by_hop and Expect, then drops every instance of `tenant_header` (case-insensitive) and
// sets it to `tenant`; Host is set to `upstream_host` (the upstream's authority).
void prepare_upstream_headers(boost::beast::http::fields& fields, std::string_view tenant_header,
                              std::string_view tenant, std::string_view upstream_host);

}  // namespace mla::http1
