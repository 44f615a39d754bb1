// connect RES: sends `connect`: the daemon starts (re)connecting to the peer; returns at once, see wait-connect.
#include <boost/program_options.hpp>

#include "cli_common.h"
#include "commands.h"
#include "control_cli.h"

namespace tandem::adm {
namespace {

int run_connect(const CommandArgs& args) {
  boost::program_options::options_description none;
  boost::program_options::variables_map vm;
  parse_command_options(kCommand_connect, args, none, nullptr, &vm);
  return send_and_print(args, "connect", kControlTimeoutMs, true);
}

}  // namespace

const Command kCommand_connect = {"connect", ResourceArg::Required, "RES", "start connecting to the peer", run_connect};

}  // namespace tandem::adm
