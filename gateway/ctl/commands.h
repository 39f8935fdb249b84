// mla-gatewayctl's commands once the command line is parsed: which admin API call each one makes
// and what it prints, and the exit codes scripts rely on. The transport is injected, so tests run
// commands against canned answers.
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "gateway/ctl/control_client.h"

namespace mla::ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitGatewayError = 1;  // the gateway answered with an error status
inline constexpr int kExitUsage = 2;         // bad command line (also CLI11's parse errors)
inline constexpr int kExitUnreachable = 3;   // no connection, timeout or malformed answer

enum class Action { kTenantsList, kTenantsDisable, kTenantsEnable, kReload, kStatus };

struct Command {
  Action action = Action::kStatus;
  bool json_output = false;             // tenants list -o json
  std::string tenant;                   // disable / enable
  std::optional<std::string> reason;    // disable --reason
  std::optional<std::string> duration;  // disable --for, already validated
};

// Sends one request and returns the answer; throws UnreachableError (see control_client.h).
using Transport = std::function<ControlAnswer(const ControlRequest&)>;

// The request COMMAND makes.
ControlRequest request_for(const Command& command);

// Runs COMMAND: the result goes to OUT, failures to ERR as one line "mla-gatewayctl: ...".
// Returns kExitOk, kExitGatewayError or kExitUnreachable.
int run_command(const Command& command, const Transport& transport, std::ostream& out,
                std::ostream& err);

}  // namespace mla::ctl
