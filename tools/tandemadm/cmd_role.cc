// role RES: sends `role` and prints the body, e.g. "Primary/Secondary" (peer Unknown when not connected).
#include <boost/program_options.hpp>

#include "cli_common.h"
#include "commands.h"
#include "control_cli.h"

namespace tandem::adm {
namespace {

int run_role(const CommandArgs& args) {
  boost::program_options::options_description none;
  boost::program_options::variables_map vm;
  parse_command_options(kCommand_role, args, none, nullptr, &vm);
  return send_and_print(args, "role", kControlTimeoutMs, false);
}

}  // namespace

const Command kCommand_role = {"role", ResourceArg::Required, "RES",
    "print local/peer role, e.g. Primary/Secondary", run_role};

}  // namespace tandem::adm
