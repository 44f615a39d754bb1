// dstate RES: sends `dstate` and prints the body, e.g. "UpToDate/Outdated" (peer DUnknown when not connected).
#include <boost/program_options.hpp>

#include "cli_common.h"
#include "commands.h"
#include "control_cli.h"

namespace tandem::adm {
namespace {

int run_dstate(const CommandArgs& args) {
  boost::program_options::options_description none;
  boost::program_options::variables_map vm;
  parse_command_options(kCommand_dstate, args, none, nullptr, &vm);
  return send_and_print(args, "dstate", kControlTimeoutMs, false);
}

}  // namespace

const Command kCommand_dstate = {"dstate", ResourceArg::Required, "RES",
    "print local/peer disk state, e.g. UpToDate/UpToDate", run_dstate};

}  // namespace tandem::adm
