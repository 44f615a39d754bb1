// primary RES [--force]: promote this node (the daemon creates the device once it is Primary).
// Sends `primary` or `primary --force`; the daemon answers ERR 11 with the reason when it refuses
// (peer is Primary, data not UpToDate without --force).
#include <boost/program_options.hpp>

#include "cli_common.h"
#include "commands.h"
#include "control_cli.h"

namespace tandem::adm {
namespace {

int run_primary(const CommandArgs& args) {
  bool force = false;
  boost::program_options::options_description opts;
  opts.add_options()("force", boost::program_options::bool_switch(&force),
                     "promote even though the local data is not known to be UpToDate");
  boost::program_options::variables_map vm;
  parse_command_options(kCommand_primary, args, opts, nullptr, &vm);
  return send_and_print(args, force ? "primary --force" : "primary", kControlLongTimeoutMs, true);
}

}  // namespace

const Command kCommand_primary = {"primary", ResourceArg::Required, "RES [--force]",
                                  "promote this node to Primary (--force: even with data not UpToDate)",
                                  run_primary};

}  // namespace tandem::adm
