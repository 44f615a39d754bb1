// DRBD's data admin commands, each one request to the daemon (ERR 11 with the reason when refused):
//   invalidate RES          this node's data is discarded and fully resynced from the peer
//   invalidate-remote RES   the peer's data is discarded and fully resynced from this node
//   outdate RES             mark this node's data Outdated (promotion then needs --force)
//   verify RES              compare both replicas online; differing blocks are marked out of sync (see status)
//   pause-sync RES / resume-sync RES   on the sync source: hold a running resync / let it continue
//   suspend-io RES          hold new application writes (e.g. while the backing device is snapshotted)
//   resume-io RES           release them, and application writes that fencing (resource-and-stonith) keeps
//                           suspended
//   new-current-uuid RES [--clear-bitmap]
//                           start a new data generation; --clear-bitmap on two freshly created, connected nodes
//                           skips the initial sync (only for disks known to be identical, e.g. both zeroed)
// They share one runner because they differ only in the request line.
#include <boost/program_options.hpp>

#include "cli_common.h"
#include "commands.h"
#include "control_cli.h"

namespace tandem::adm {
namespace {

int send_plain(const Command& cmd, const CommandArgs& args) {
  boost::program_options::options_description none;
  boost::program_options::variables_map vm;
  parse_command_options(cmd, args, none, nullptr, &vm);
  return send_and_print(args, cmd.name, kControlTimeoutMs, true);
}

int run_invalidate(const CommandArgs& args) { return send_plain(kCommand_invalidate, args); }
int run_invalidate_remote(const CommandArgs& args) { return send_plain(kCommand_invalidate_remote, args); }
int run_outdate(const CommandArgs& args) { return send_plain(kCommand_outdate, args); }
int run_verify(const CommandArgs& args) { return send_plain(kCommand_verify, args); }
int run_pause_sync(const CommandArgs& args) { return send_plain(kCommand_pause_sync, args); }
int run_resume_sync(const CommandArgs& args) { return send_plain(kCommand_resume_sync, args); }
int run_resume_io(const CommandArgs& args) { return send_plain(kCommand_resume_io, args); }
int run_suspend_io(const CommandArgs& args) { return send_plain(kCommand_suspend_io, args); }

int run_new_current_uuid(const CommandArgs& args) {
  namespace po = boost::program_options;
  po::options_description opts;
  opts.add_options()("clear-bitmap", "skip the initial sync of two freshly created, connected nodes");
  po::variables_map vm;
  parse_command_options(kCommand_new_current_uuid, args, opts, nullptr, &vm);
  return send_and_print(args, vm.count("clear-bitmap") ? "new-current-uuid --clear-bitmap" : "new-current-uuid",
                        kControlTimeoutMs, true);
}

}  // namespace

const Command kCommand_invalidate = {"invalidate", ResourceArg::Required, "RES",
                                     "discard this node's data and resync it fully from the peer", run_invalidate};
const Command kCommand_invalidate_remote = {"invalidate-remote", ResourceArg::Required, "RES",
                                            "discard the peer's data and resync it fully from this node",
                                            run_invalidate_remote};
const Command kCommand_outdate = {"outdate", ResourceArg::Required, "RES", "mark this node's data Outdated",
                                  run_outdate};
const Command kCommand_verify = {"verify", ResourceArg::Required, "RES",
                                 "compare both replicas online and mark differing blocks out of sync", run_verify};
const Command kCommand_pause_sync = {"pause-sync", ResourceArg::Required, "RES",
                                     "hold the running resync (on the sync source)", run_pause_sync};
const Command kCommand_resume_sync = {"resume-sync", ResourceArg::Required, "RES", "continue a paused resync",
                                      run_resume_sync};
const Command kCommand_resume_io = {"resume-io", ResourceArg::Required, "RES",
                                    "release writes held by suspend-io or suspended by fencing", run_resume_io};
const Command kCommand_suspend_io = {"suspend-io", ResourceArg::Required, "RES",
                                     "hold new application writes until resume-io", run_suspend_io};
const Command kCommand_new_current_uuid = {"new-current-uuid", ResourceArg::Required, "RES [--clear-bitmap]",
                                           "start a new data generation (--clear-bitmap: skip the initial sync)",
                                           run_new_current_uuid};

}  // namespace tandem::adm
