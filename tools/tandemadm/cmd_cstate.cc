// cstate RES: sends `cstate` and prints the body, e.g. "Connected".
#include <boost/program_options.hpp>

#include "cli_common.h"
#include "commands.h"
#include "control_cli.h"

namespace tandem::adm {
namespace {

int run_cstate(const CommandArgs& args) {
  boost::program_options::options_description none;
  boost::program_options::variables_map vm;
  parse_command_options(kCommand_cstate, args, none, nullptr, &vm);
  return send_and_print(args, "cstate", kControlTimeoutMs, false);
}

}  // namespace

const Command kCommand_cstate = {"cstate", ResourceArg::Required, "RES",
    "print the connection state, e.g. Connected", run_cstate};

}  // namespace tandem::adm
