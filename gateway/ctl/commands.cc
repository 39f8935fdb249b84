#include "gateway/ctl/commands.h"

#include <nlohmann/json.hpp>

#include "gateway/ctl/api_request.h"
#include "gateway/ctl/tenant_table.h"

namespace mla::ctl {
namespace {

constexpr std::string_view kProgram = "mla-gatewayctl: ";

// What a 2xx answer prints. Throws nlohmann::json::exception when a JSON answer is malformed.
std::string render_success(const Command& command, const ControlAnswer& answer) {
  switch (command.action) {
    case Action::kTenantsList: {
      auto tenants = Json::parse(answer.body);
      if (command.json_output) {
        return tenants.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
      }
      return render_tenant_table(tenants);
    }
    case Action::kTenantsDisable:
    case Action::kTenantsEnable: return describe_tenant_change(Json::parse(answer.body)) + "\n";
    case Action::kStatus: return render_status(Json::parse(answer.body));
    case Action::kReload:
      if (answer.body.empty()) return "configuration reloaded\n";
      return answer.body.ends_with('\n') ? answer.body : answer.body + "\n";
  }
  return "";
}

}  // namespace

ControlRequest request_for(const Command& command) {
  switch (command.action) {
    case Action::kTenantsList: return {"GET", "/api/v1/tenants", ""};
    case Action::kTenantsDisable:
      return {"POST", tenant_action_path(command.tenant, "disable"),
              disable_body(command.reason, command.duration)};
    case Action::kTenantsEnable: return {"POST", tenant_action_path(command.tenant, "enable"), ""};
    case Action::kReload: return {"POST", "/-/reload", ""};
    case Action::kStatus: return {"GET", "/api/v1/status", ""};
  }
  return {"GET", "/api/v1/status", ""};
}

int run_command(const Command& command, const Transport& transport, std::ostream& out,
                std::ostream& err) {
  ControlAnswer answer;
  try {
    answer = transport(request_for(command));
  } catch (const UnreachableError& e) {
    err << kProgram << e.what() << "\n";
    return kExitUnreachable;
  }
  if (answer.status < 200 || answer.status > 299) {
    err << kProgram << answer.status << ": " << error_message(answer.body, answer.reason) << "\n";
    return kExitGatewayError;
  }
  std::string text;
  try {
    text = render_success(command, answer);
  } catch (const nlohmann::json::exception& e) {
    err << kProgram << "malformed answer from the gateway (status " << answer.status
        << "): " << one_line(e.what()) << "\n";
    return kExitUnreachable;
  }
  out << text;
  out.flush();
  return kExitOk;
}

}  // namespace mla::ctl
