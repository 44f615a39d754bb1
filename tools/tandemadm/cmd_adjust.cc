// adjust RES: the running resource takes the settings of the (edited) configuration file, as `drbdadm adjust`
// does. A resource that is not up is brought up (as `up`). The daemon applies what a running resource can
// change (at once, or by connecting again for the connection's settings) and refuses, changing nothing, what
// needs `down` and `up` (disks, device, node ids); it prints what it did. A StandAlone resource is connected.
#include <fmt/format.h>

#include "cli_common.h"
#include "commands.h"
#include "control_cli.h"

namespace tandem::adm {
namespace {

int run_adjust(const CommandArgs& args) {
  namespace po = boost::program_options;
  po::options_description opts;
  po::variables_map vm;
  parse_command_options(kCommand_adjust, args, opts, nullptr, &vm);
  // Checked here first, so a broken file gets the tool's usual message and exit status.
  config::Config cfg = load_config(args.global);
  const config::ResourceConfig& r = find_resource(cfg, args.resource);
  resolve_hosts(args.global, r);
  const std::string path = absolute_config_path(args.global);
  if (path.find_first_of(" \t\n") != std::string::npos)
    cli_fail(kExitConfig, "adjust: the configuration path {} contains white space, which the control socket's "
                          "requests cannot carry; use a path without it", path);
  const RunPaths paths = run_paths(args.global.run_dir, r.name);
  ControlResponse response;
  std::string error;
  if (!args.global.dry_run &&
      control_request(paths.socket, "ping", kControlTimeoutMs, &response, &error) == ControlResult::NotRunning) {
    fmt::print("{}: not up; starting it\n", r.name);
    return kCommand_up.run(args);
  }
  const std::string request = "adjust " + path;
  if (args.global.dry_run) {
    fmt::print("if {} is not up: as `up {}`; else:\n{}\n", r.name, r.name, dry_run_send_line(paths.socket, request));
    return kExitOk;
  }
  print_body(control_or_fail(args.global, r.name, request, kControlTimeoutMs));
  return kExitOk;
}

}  // namespace

const Command kCommand_adjust = {"adjust", ResourceArg::Required, "RES",
                                 "apply the edited configuration to the running resource (starts it if down)",
                                 run_adjust};

}  // namespace tandem::adm
