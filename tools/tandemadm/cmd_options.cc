// disk-options / net-options / resource-options RES --KEYWORD=VALUE...: change options of a running resource
// without editing the configuration file, as DRBD's commands of those names do (for example a faster resync
// for now: `disk-options r0 --resync-rate=200M --c-plan-ahead=0`). Each keyword is checked here as the daemon
// checks it (config/resource_options.h); the daemon applies the set as `adjust` would (at once, or by
// connecting again for the connection's settings) and prints what it did. The next `adjust` (or `up`) goes
// back to the file.
#include <fmt/format.h>

#include <string>
#include <utility>
#include <vector>

#include "cli_common.h"
#include "commands.h"
#include "config/keywords.h"
#include "config/resource_options.h"
#include "control_cli.h"

namespace tandem::adm {
namespace {

int run_options(const Command& cmd, config::SectionKind section, std::string_view wire_section,
                const CommandArgs& args) {
  config::Config cfg = load_config(args.global);
  config::ResourceConfig probe = find_resource(cfg, args.resource);
  std::vector<std::pair<std::string, std::string>> settings;
  for (const std::string& arg : args.rest) {
    if (arg.rfind("--", 0) != 0 || arg.size() < 3)
      cli_fail(kExitUsage, "{}: expected --KEYWORD=VALUE, got '{}' (usage: {} {})", cmd.name, arg, cmd.name, cmd.usage);
    size_t eq = arg.find('=');
    std::string key = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    std::vector<std::string> values;
    if (eq != std::string::npos) values.push_back(arg.substr(eq + 1));
    // The daemon's own check (config/resource_options.h), on the file's copy of the resource.
    std::string normalised, error;
    if (!config::set_resource_option(&probe, section, key, values, &error, &normalised))
      cli_fail(kExitUsage, "{}: {}", cmd.name, error);
    if (normalised.find_first_of(" \t\n") != std::string::npos)
      cli_fail(kExitUsage, "{}: --{} cannot be set this way (its value has white space); edit the file and adjust",
               cmd.name, key);
    settings.emplace_back(key, normalised);
  }
  if (settings.empty()) cli_fail(kExitUsage, "{}: give at least one --KEYWORD=VALUE", cmd.name);
  std::string request = fmt::format("set-options {}", wire_section);
  for (const auto& [k, v] : settings) request += fmt::format(" {} {}", k, v);
  return send_and_print(args, request, kControlTimeoutMs, true);
}

int run_disk_options(const CommandArgs& args) {
  return run_options(kCommand_disk_options, config::SectionKind::Disk, "disk", args);
}
int run_net_options(const CommandArgs& args) {
  return run_options(kCommand_net_options, config::SectionKind::Net, "net", args);
}
int run_resource_options(const CommandArgs& args) {
  return run_options(kCommand_resource_options, config::SectionKind::Options, "options", args);
}

}  // namespace

const Command kCommand_disk_options = {"disk-options", ResourceArg::Required, "RES --KEYWORD=VALUE...",
                                       "change disk options of the running resource (until the next adjust)",
                                       run_disk_options};
const Command kCommand_net_options = {"net-options", ResourceArg::Required, "RES --KEYWORD=VALUE...",
                                      "change net options of the running resource (until the next adjust)",
                                      run_net_options};
const Command kCommand_resource_options = {"resource-options", ResourceArg::Required, "RES --KEYWORD=VALUE...",
                                           "change resource options (options section) until the next adjust",
                                           run_resource_options};

}  // namespace tandem::adm
