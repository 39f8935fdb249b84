// How mla-gatewayctl shows the admin API's JSON to a person (admin-api-contract.md): the tenant
// list as an aligned table, /api/v1/status as `key: value` lines, a tenant change as one line.
// Pure functions. Fields a table cell needs but the answer lacks show as "-"; an answer whose
// shape cannot be shown at all (no "tenants" array, a tenant without a name) throws
// nlohmann::json::exception, which the caller reports as a malformed answer.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace mla::ctl {

// Keeps the server's key order, so `-o json` and status print fields as the gateway sent them.
using Json = nlohmann::ordered_json;

// GET /api/v1/tenants -> one header row and one row per tenant, in the server's order:
// TENANT ENABLED REASON UNTIL REQ/S SAMPLES/S LINES/S LOG-BYTES/S REJECTED.
// Columns are separated by two spaces, numbers right-aligned; rows end with '\n'.
std::string render_tenant_table(const Json& answer);

// GET /api/v1/status -> `key: value` lines; nested objects are indented by two spaces, arrays of
// objects are `  - key: value, key: value` lines, null is "-".
std::string render_status(const Json& answer);

// The answer to disable/enable (one tenant entry) -> one line without '\n', e.g.
// "tenant cluster-a disabled (reason: abuse, until 2026-11-25T20:00:00Z)".
std::string describe_tenant_change(const Json& entry);

}  // namespace mla::ctl
