// CLI glue shared by the tandemadm commands that talk to tandemd: send a request and turn every outcome
// into output or a CliError with the documented exit status, and the --dry-run rendering of a request.
#pragma once

#include <string>
#include <string_view>

#include "cli_common.h"
#include "commands.h"
#include "control_client.h"

namespace tandem::adm {

// Sends `request` to the daemon of `resource` and returns the OK body. Throws CliError:
//   not running  → `not_running_code`, "resource RES is not up (no daemon socket at PATH)";
//   ERR CODE     → CODE, "RES: BODY" (the daemon's message);
//   other failure → kExitFailed, naming the socket.
std::string control_or_fail(const GlobalOptions& global, const std::string& resource, std::string_view request,
                            int timeout_ms, int not_running_code = kExitFailed);

// The whole of the simple commands (primary, secondary, connect, disconnect, role, cstate, dstate, show-gi):
// checks that RES is in the configuration, then sends `request` and prints the OK body. With --dry-run and
// `changes_state`, prints dry_run_send_line instead of sending. Returns the exit status.
int send_and_print(const CommandArgs& args, std::string_view request, int timeout_ms, bool changes_state);

// The line --dry-run prints instead of sending: "send 'REQUEST' to SOCKET".
std::string dry_run_send_line(const std::string& socket_path, std::string_view request);

// Prints a response body to stdout, adding a final newline when it lacks one (nothing for an empty body).
void print_body(std::string_view body);

// Parses a positive number of seconds for --timeout ("60", "0.5"); throws a usage CliError naming the command.
double parse_timeout_s(const char* command, const std::string& text);

}  // namespace tandem::adm
