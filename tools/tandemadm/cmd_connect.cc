// connect RES [--discard-my-data]: sends `connect` (or `connect --discard-my-data`): the daemon starts
// (re)connecting to the peer; returns at once, see wait-connect. --discard-my-data is DRBD's manual split-brain
// recovery: if the next handshake finds a split brain, this node gives up its changes and is resynced from the
// peer (run it on the victim, then `connect` on the survivor).
#include <boost/program_options.hpp>

#include "cli_common.h"
#include "commands.h"
#include "control_cli.h"

namespace tandem::adm {
namespace {

int run_connect(const CommandArgs& args) {
  namespace po = boost::program_options;
  po::options_description opts;
  opts.add_options()("discard-my-data", "if a split brain is found, discard this node's changes");
  po::variables_map vm;
  parse_command_options(kCommand_connect, args, opts, nullptr, &vm);
  return send_and_print(args, vm.count("discard-my-data") ? "connect --discard-my-data" : "connect", kControlTimeoutMs,
                        true);
}

}  // namespace

const Command kCommand_connect = {"connect", ResourceArg::Required, "RES [--discard-my-data]",
                                  "start connecting to the peer", run_connect};

}  // namespace tandem::adm
