// mla-gatewayctl: control a running mla-gateway over its Unix control socket (DESIGN.md §2, §6).
#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <iostream>

#include "gateway/common/units.h"
#include "gateway/ctl/commands.h"
#include "gateway/ctl/control_client.h"

namespace {

using namespace mla::ctl;

constexpr const char* kDefaultSocket = "/run/mla-gateway/control.sock";

constexpr const char* kFooter = R"(Exit codes:
  0  success
  1  the gateway answered with an error (printed as "mla-gatewayctl: <status>: <message>")
  2  usage error (unknown command or option, bad --for or --timeout)
  3  cannot reach the gateway (no socket, connection refused, timeout, malformed answer)

Environment:
  MLA_GATEWAY_SOCKET  control socket path when --socket is not given)";

// A duration in the config's syntax (30s, 5m, 1h30m, 2d) of at least MIN.
CLI::Validator duration_at_least(std::chrono::milliseconds min, const std::string& min_text) {
  return CLI::Validator(
      [min, min_text](std::string& text) -> std::string {
        auto parsed = mla::common::parse_duration(text);
        if (!parsed) return "'" + text + "' is not a duration like 30s, 5m, 1h30m or 2d";
        if (*parsed < min) return "the duration must be at least " + min_text;
        return "";
      },
      "DURATION");
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a gateway closing mid-request is an error code, not a signal

  CLI::App app{"mla-gatewayctl: control a running mla-gateway over its Unix control socket"};
  app.footer(kFooter);
  app.set_version_flag("--version", std::string("mla-gatewayctl ") + MLA_VERSION);
  app.require_subcommand(1);
  // CLI11's messages, with the program name like every other error line of this tool.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("mla-gatewayctl: ") + e.what() + "\nRun with --help for more information.\n";
  });

  std::string socket_path = kDefaultSocket;
  std::string timeout_text = "10s";
  app.add_option("--socket", socket_path, "Control socket (admin.socket of the gateway's config)")
      ->envname("MLA_GATEWAY_SOCKET")
      ->capture_default_str();
  app.add_option("--timeout", timeout_text, "Deadline for the whole call")
      ->check(duration_at_least(std::chrono::milliseconds(1), "1ms"))
      ->capture_default_str();

  Command command;
  std::string output = "table";
  auto* tenants = app.add_subcommand("tenants", "List, disable and enable tenants");
  tenants->require_subcommand(1);
  auto* list = tenants->add_subcommand("list", "Tenants with state, limits and current rates");
  list->add_option("-o,--output", output, "table | json (the gateway's JSON, indented)")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  list->callback([&] {
    command.action = Action::kTenantsList;
    command.json_output = output == "json";
  });

  std::string reason;
  std::string duration;
  auto* disable = tenants->add_subcommand(
      "disable", "Reject the tenant's requests (disabled_status + Retry-After) until enabled");
  disable->add_option("tenant", command.tenant, "Tenant ID")->required();
  auto* reason_option = disable->add_option("--reason", reason, "Why (shown in tenants list)");
  auto* for_option = disable->add_option("--for", duration, "Enable again after this long (1h)")
                         ->check(duration_at_least(std::chrono::seconds(1), "1s"));
  disable->callback([&] {
    command.action = Action::kTenantsDisable;
    if (reason_option->count() > 0) command.reason = reason;
    if (for_option->count() > 0) command.duration = duration;
  });

  auto* enable = tenants->add_subcommand("enable", "Accept the tenant's requests again");
  enable->add_option("tenant", command.tenant, "Tenant ID")->required();
  enable->callback([&] { command.action = Action::kTenantsEnable; });

  app.add_subcommand("reload", "Re-read the configuration and certificates (like SIGHUP)")
      ->callback([&] { command.action = Action::kReload; });
  app.add_subcommand("status", "Version, readiness, reload state, certificates")->callback([&] {
    command.action = Action::kStatus;
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0; everything else is a usage error.
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  const auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      *mla::common::parse_duration(timeout_text));
  Transport transport = [&](const ControlRequest& request) {
    return call_gateway(socket_path, request, timeout);
  };
  return run_command(command, transport, std::cout, std::cerr);
}
