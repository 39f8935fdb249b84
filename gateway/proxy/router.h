// Path -> route (DESIGN.md §3 `routes`): exact `path` or `path_prefix`, longest match wins, an
// exact match beats a prefix of the same length. Pure; the query string is ignored.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gateway/config/config.h"

namespace mla::proxy {

// Returns null when no route matches. `target` is the request-target (path[?query]).
const config::RouteConfig* match_route(const std::vector<config::RouteConfig>& routes,
                                       std::string_view target);

// The path part of a request-target (everything before '?').
std::string_view target_path(std::string_view target);

// `target` as the upstream gets it: with `route.rewrite` set, the matched path (exact route) or
// the matched prefix (prefix route) is replaced by it; the rest and the query string are kept.
// `route` must be the one match_route chose for `target`.
std::string rewrite_target(const config::RouteConfig& route, std::string_view target);

}  // namespace mla::proxy
