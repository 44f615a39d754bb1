// disconnect RES: sends `disconnect`: the daemon drops the peer connection and stays StandAlone until 'connect'.
#include <boost/program_options.hpp>

#include "cli_common.h"
#include "commands.h"
#include "control_cli.h"

namespace tandem::adm {
namespace {

int run_disconnect(const CommandArgs& args) {
  boost::program_options::options_description none;
  boost::program_options::variables_map vm;
  parse_command_options(kCommand_disconnect, args, none, nullptr, &vm);
  return send_and_print(args, "disconnect", kControlTimeoutMs, true);
}

}  // namespace

const Command kCommand_disconnect = {"disconnect", ResourceArg::Required, "RES",
    "drop the connection to the peer (StandAlone)", run_disconnect};

}  // namespace tandem::adm
