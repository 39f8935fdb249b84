#include "gateway/admin/tenant_api.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "gateway/common/logging.h"
#include "gateway/common/stats.h"
#include "gateway/common/units.h"

namespace mla::admin {
namespace {

using nlohmann::json;
using std::chrono::system_clock;

Response json_response(int status, const json& body) {
  Response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  return response;
}

std::string rfc3339(system_clock::time_point at) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}",
                     std::chrono::time_point_cast<std::chrono::seconds>(at));
}

json optional_time(const std::optional<system_clock::time_point>& at) {
  return at ? json(rfc3339(*at)) : json(nullptr);
}

// %XX sequences decoded; nullopt for a malformed one.
std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (i + 2 >= text.size()) return std::nullopt;
    int high = hex(text[i + 1]), low = hex(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

json limits_json(const ratelimit::LimitsConfig& limits, const std::string& tenant) {
  const ratelimit::TenantLimits& l = limits.limits_for(tenant);
  const double replicas = limits.replicas == 0 ? 1.0 : static_cast<double>(limits.replicas);
  return {{"metrics",
           {{"requests_per_second", l.metrics.requests_per_second / replicas},
            {"samples_per_second", l.metrics.samples_per_second / replicas},
            {"burst_samples", l.metrics.burst_samples},
            {"bytes_per_second", l.metrics.bytes_per_second / replicas}}},
          {"logs",
           {{"requests_per_second", l.logs.requests_per_second / replicas},
            {"lines_per_second", l.logs.lines_per_second / replicas},
            {"bytes_per_second", l.logs.bytes_per_second / replicas},
            {"burst_bytes", l.logs.burst_bytes}}}};
}

json totals_json(const common::TenantTraffic* traffic) {
  auto get = [&](const std::atomic<std::uint64_t> common::TenantTraffic::*field) -> std::uint64_t {
    return traffic == nullptr ? 0 : (traffic->*field).load(std::memory_order_relaxed);
  };
  json rejected = json::object();
  for (std::size_t i = 0; i < common::kRejectReasonNames.size(); ++i) {
    rejected[std::string(common::kRejectReasonNames[i])] =
        traffic == nullptr ? 0 : traffic->rejected[i].load(std::memory_order_relaxed);
  }
  return {{"requests", get(&common::TenantTraffic::requests)},
          {"samples", get(&common::TenantTraffic::samples)},
          {"log_lines", get(&common::TenantTraffic::log_lines)},
          {"log_bytes", get(&common::TenantTraffic::log_bytes)},
          {"bytes", get(&common::TenantTraffic::body_bytes)},
          {"rejected", rejected}};
}

json tenant_json(AdminContext& context, const std::string& tenant,
                 const tenant::DisabledMap& disabled, const common::TenantTraffic* traffic) {
  auto config = context.config();
  auto entry = disabled.find(tenant);
  const bool enabled = entry == disabled.end();
  TenantRate rate = context.rates.of(tenant);
  json out = {
      {"tenant", tenant},
      {"enabled", enabled},
      {"disabled_reason", enabled ? "" : entry->second.reason},
      {"disabled_since", enabled ? json(nullptr) : json(rfc3339(entry->second.since))},
      {"disabled_until", enabled ? json(nullptr) : optional_time(entry->second.until)},
      {"rates",
       {{"requests_per_second", rate.requests_per_second},
        {"samples_per_second", rate.samples_per_second},
        {"log_lines_per_second", rate.log_lines_per_second},
        {"log_bytes_per_second", rate.log_bytes_per_second}}},
      {"totals", totals_json(traffic)},
  };
  if (config) out["limits"] = limits_json(config->limits, tenant);
  return out;
}

std::string describe_change(const std::string& tenant, const tenant::DisabledMap& disabled) {
  auto entry = disabled.find(tenant);
  if (entry == disabled.end()) return "enabled";
  return fmt::format("disabled (reason: {}, until: {})",
                     entry->second.reason.empty() ? "none" : entry->second.reason,
                     entry->second.until ? rfc3339(*entry->second.until) : "enabled again");
}

}  // namespace

Response json_error(int status, std::string_view message) {
  return json_response(status, {{"error", message}});
}

Response list_tenants(AdminContext& context) {
  if (context.switches == nullptr) return json_error(503, "tenant API not available");
  const tenant::DisabledMap disabled = context.switches->snapshot();
  std::map<std::string, const common::TenantTraffic*> tenants;
  context.tenants.visit([&](const std::string& tenant, const common::TenantTraffic& traffic) {
    tenants[tenant] = &traffic;
  });
  for (const auto& [tenant, entry] : disabled) tenants.try_emplace(tenant, nullptr);
  if (auto config = context.config()) {
    for (const auto& [tenant, limits] : config->limits.overrides) {
      tenants.try_emplace(tenant, nullptr);
    }
  }
  json list = json::array();
  for (const auto& [tenant, traffic] : tenants) {
    list.push_back(tenant_json(context, tenant, disabled, traffic));
  }
  return json_response(200, {{"tenants", list}});
}

Response change_tenant(AdminContext& context, std::string_view rest, const std::string& body) {
  if (context.switches == nullptr) return json_error(503, "tenant API not available");
  const auto slash = rest.rfind('/');
  const std::string_view action = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (slash == std::string_view::npos || slash == 0 ||
      (action != "disable" && action != "enable")) {
    return json_error(404, "not found: want /api/v1/tenants/{tenant}/disable or .../enable");
  }
  auto decoded = percent_decode(rest.substr(0, slash));
  if (!decoded) return json_error(400, "malformed percent-encoding in the tenant");
  const std::string tenant = *decoded;

  std::string reason;
  std::optional<std::chrono::seconds> duration;
  if (action == "disable" && body.find_first_not_of(" \t\r\n") != std::string::npos) {
    // A NUL byte would end nlohmann's input early, silently dropping what follows.
    json request = body.find('\0') == std::string::npos ? json::parse(body, nullptr, false)
                                                        : json(json::value_t::discarded);
    if (request.is_discarded() || !request.is_object()) {
      return json_error(400, R"(body must be a JSON object: {"reason": "...", "duration": "1h"})");
    }
    for (const auto& [key, value] : request.items()) {
      if (key != "reason" && key != "duration") {
        return json_error(400, fmt::format("unknown key \"{}\" (want reason, duration)", key));
      }
      if (!value.is_string() && !value.is_null()) {
        return json_error(400, fmt::format("\"{}\" must be a string", key));
      }
    }
    if (request.contains("reason") && request["reason"].is_string()) {
      reason = request["reason"].get<std::string>();
      if (reason.size() > 1024) return json_error(400, "reason longer than 1024 bytes");
    }
    if (request.contains("duration") && request["duration"].is_string()) {
      const auto text = request["duration"].get<std::string>();
      auto parsed = common::parse_duration(text);
      if (!parsed || *parsed < std::chrono::seconds(1)) {
        return json_error(400, fmt::format("invalid duration \"{}\" (want e.g. 30s, 15m, 1h, "
                                           "at least 1s)",
                                           text));
      }
      duration = std::chrono::ceil<std::chrono::seconds>(*parsed);
    }
  }

  const tenant::DisabledMap before = context.switches->snapshot();
  tenant::DisabledMap after;
  try {
    after = action == "disable" ? context.switches->disable(tenant, reason, duration)
                                : context.switches->enable(tenant);
  } catch (const std::invalid_argument& e) {
    return json_error(400, e.what());
  }
  if (context.persist && after != before) {
    try {
      context.persist(after);
    } catch (const std::exception& e) {
      context.switches->replace(before);  // memory and file stay in step
      log::error("tenant change not saved; not applied", {{"tenant", tenant}, {"error", e.what()}});
      return json_error(500, fmt::format("not applied: {}", e.what()));
    }
  }
  if (action == "disable" && context.enforce) context.enforce(tenant);
  log::warn("tenant " + std::string(action) + "d",
            {{"tenant", tenant}, {"state", describe_change(tenant, after)}});
  const common::TenantTraffic* traffic = nullptr;
  context.tenants.visit([&](const std::string& name, const common::TenantTraffic& t) {
    if (name == tenant) traffic = &t;
  });
  return json_response(200, tenant_json(context, tenant, after, traffic));
}

Response server_status(AdminContext& context) {
  auto config = context.config();
  std::size_t seen = 0;
  context.tenants.visit([&](const std::string&, const common::TenantTraffic&) { ++seen; });
  const std::int64_t reload_ms = context.status.last_reload_success_ms.load();
  json certificates = json::array();
  if (context.certificates) {
    for (const auto& [file, not_after] : context.certificates()) {
      certificates.push_back({{"file", file}, {"not_after", rfc3339(not_after)}});
    }
  }
  json out = {
      {"version", MLA_VERSION},
      {"ready", context.status.ready()},
      {"draining", context.status.draining.load()},
      {"uptime_seconds",
       std::chrono::duration<double>(std::chrono::steady_clock::now() - context.started).count()},
      {"config_file", config ? config->source_file : ""},
      {"config_last_reload_successful", context.status.last_reload_successful.load()},
      {"config_last_reload_success_time",
       reload_ms == 0
           ? json(nullptr)
           : json(rfc3339(system_clock::time_point(std::chrono::milliseconds(reload_ms))))},
      {"open_connections", context.stats.open_connections.load()},
      {"tenants_seen", seen},
      {"tenants_disabled", context.switches ? context.switches->snapshot().size() : 0},
      {"certificates", certificates},
  };
  return json_response(200, out);
}

}  // namespace mla::admin
