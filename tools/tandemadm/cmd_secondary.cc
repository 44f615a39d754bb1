// secondary RES: sends `secondary`; the daemon refuses (ERR 11) while the device is open.
#include <boost/program_options.hpp>

#include "cli_common.h"
#include "commands.h"
#include "control_cli.h"

namespace tandem::adm {
namespace {

int run_secondary(const CommandArgs& args) {
  boost::program_options::options_description none;
  boost::program_options::variables_map vm;
  parse_command_options(kCommand_secondary, args, none, nullptr, &vm);
  return send_and_print(args, "secondary", kControlLongTimeoutMs, true);  // removes the device: may take long
}

}  // namespace

const Command kCommand_secondary = {"secondary", ResourceArg::Required, "RES",
    "demote this node to Secondary", run_secondary};

}  // namespace tandem::adm
