// sh-local-host RES: print the name of the `on` section this machine uses (for scripts; shows which rule
// chose it only through errors, so a misconfigured machine fails loudly here first).
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "cli_common.h"
#include "commands.h"

namespace tandem::adm {
namespace {

int run_sh_local_host(const CommandArgs& args) {
  boost::program_options::options_description none;
  boost::program_options::variables_map vm;
  parse_command_options(kCommand_sh_local_host, args, none, nullptr, &vm);
  config::Config cfg = load_config(args.global);
  const config::ResourceConfig& r = find_resource(cfg, args.resource);
  LocalAndPeer hosts = resolve_hosts(args.global, r);
  fmt::print("{}\n", hosts.local->name);
  return kExitOk;
}

}  // namespace

const Command kCommand_sh_local_host = {"sh-local-host", ResourceArg::Required, "RES",
                                        "print the name of this machine's 'on' section", run_sh_local_host};

}  // namespace tandem::adm
