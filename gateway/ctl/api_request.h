// The admin API requests mla-gatewayctl sends and how it reads an error answer
// (/work/notes/admin-api-contract.md). Pure functions over strings.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mla::ctl {

// RFC 3986 unreserved characters (ALPHA DIGIT - . _ ~) pass; every other byte becomes %XX
// (upper-case hex). Tenant IDs may contain ! * ' ( ), and a path segment must not carry a '/'.
std::string percent_encode(std::string_view segment);

// "/api/v1/tenants/<tenant, percent-encoded>/<action>"; action is "disable" or "enable".
std::string tenant_action_path(std::string_view tenant, std::string_view action);

// The disable call's JSON body: {"reason": ..., "duration": ...} with absent fields left out;
// "" when both are absent (the API reads an empty body as "no reason, indefinitely").
std::string disable_body(const std::optional<std::string>& reason,
                         const std::optional<std::string>& duration);

// One line for a failed call: the JSON body's "error" string if there is one, else the text body
// (e.g. /-/reload's "reload failed: ..."), else the reason phrase. Control characters and line
// breaks become spaces.
std::string error_message(std::string_view body, std::string_view reason);

// TEXT with control characters (line breaks, tabs, ESC) replaced by spaces: what the gateway
// sends stays on the line it is printed on and cannot move the terminal's cursor.
std::string one_line(std::string_view text);

}  // namespace mla::ctl
