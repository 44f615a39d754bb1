// show-gi RES: sends `show-gi` and prints the body: "current:HEX bitmap:HEX history:HEX,HEX,HEX,HEX".
#include <boost/program_options.hpp>

#include "cli_common.h"
#include "commands.h"
#include "control_cli.h"

namespace tandem::adm {
namespace {

int run_show_gi(const CommandArgs& args) {
  boost::program_options::options_description none;
  boost::program_options::variables_map vm;
  parse_command_options(kCommand_show_gi, args, none, nullptr, &vm);
  return send_and_print(args, "show-gi", kControlTimeoutMs, false);
}

}  // namespace

const Command kCommand_show_gi = {"show-gi", ResourceArg::Required, "RES",
    "print the generation identifiers", run_show_gi};

}  // namespace tandem::adm
