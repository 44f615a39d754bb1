// Helpers shared by tandemadm commands: exit codes, error reporting, loading the configuration and
// resolving the resource and the local/peer hosts.
//
// Errors: helpers throw CliError; main.cc catches it, prints "tandemadm: MESSAGE" to stderr and exits with
// its code. Commands may throw it too (cli_fail) so every failure looks the same to the user.
#pragma once

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <string>
#include <vector>

#include "commands.h"
#include "config/config.h"

namespace tandem::adm {

inline constexpr const char* kDefaultConfigPath = "/etc/tandem/tandem.conf";
inline constexpr const char* kDefaultRunDir = "/run/tandem";

// Exit statuses (documented in docs/configuration.md; close to drbdadm's).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;    // unknown command or option, missing or unknown resource
inline constexpr int kExitConfig = 10;  // configuration unreadable or invalid, local host not found
inline constexpr int kExitFailed = 20;  // the operation itself failed (daemon, device, metadata)

struct CliError {
  int code;
  std::string message;
};

[[noreturn]] void cli_fail(int code, std::string message);
template <typename... Args>
[[noreturn]] void cli_fail(int code, fmt::format_string<Args...> f, Args&&... args) {
  cli_fail(code, fmt::format(f, std::forward<Args>(args)...));
}

// Prints "tandemadm: MESSAGE" to stderr.
void print_error(std::string_view message);

// Parses the configuration file named by --config; throws CliError(kExitConfig) with the parser's
// "FILE:LINE: message" on failure.
config::Config load_config(const GlobalOptions& global);

// The configuration file's absolute path (for the daemon, which runs elsewhere); throws CliError(kExitConfig).
std::string absolute_config_path(const GlobalOptions& global);

// The resource named `name`; throws CliError(kExitUsage) listing the known resources when absent.
const config::ResourceConfig& find_resource(const config::Config& cfg, const std::string& name);

struct LocalAndPeer {
  const config::HostConfig* local;
  const config::HostConfig* peer;
};
// Chooses this node's host (--host, else uname -n, else local interface addresses) and its peer.
// Throws CliError(kExitConfig) when no single host matches.
LocalAndPeer resolve_hosts(const GlobalOptions& global, const config::ResourceConfig& res);

// Parses a command's own options from args.rest. Unknown options or extra operands are usage errors that
// name the command. `positional` may be null when the command takes no operands.
void parse_command_options(const Command& cmd, const CommandArgs& args,
                           const boost::program_options::options_description& options,
                           const boost::program_options::positional_options_description* positional,
                           boost::program_options::variables_map* vm);

}  // namespace tandem::adm
