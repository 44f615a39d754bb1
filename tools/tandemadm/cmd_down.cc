// down RES: stop this node's daemon for RES (DRBD's `drbdadm down`). Sends `down` (the daemon demotes,
// flushes, saves metadata and exits; ERR 11 while the device is open) and waits up to 30 s for the pid in
// RES.pid to go away. A resource that is not up is not an error: the goal state already holds.
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <sys/stat.h>

#include <chrono>
#include <thread>

#include "cli_common.h"
#include "commands.h"
#include "control_cli.h"
#include "daemon_launch.h"

namespace tandem::adm {
namespace {

using Clock = std::chrono::steady_clock;

// Without a pid file, the daemon is gone once its socket is (it unlinks it) or nobody listens on it.
bool socket_gone(const std::string& socket_path) {
  struct stat st{};
  return ::stat(socket_path.c_str(), &st) != 0;
}

int run_down(const CommandArgs& args) {
  boost::program_options::options_description none;
  boost::program_options::variables_map vm;
  parse_command_options(kCommand_down, args, none, nullptr, &vm);
  config::Config cfg = load_config(args.global);
  const config::ResourceConfig& r = find_resource(cfg, args.resource);
  const RunPaths paths = run_paths(args.global.run_dir, r.name);
  if (args.global.dry_run) {
    fmt::print("{}\n", dry_run_send_line(paths.socket, "down"));
    fmt::print("wait up to {} s for the process in {} to exit\n", kDaemonExitTimeoutMs / 1000, paths.pid);
    return kExitOk;
  }

  // Read before sending: the daemon removes its pid file as it exits.
  pid_t pid = 0;
  std::string pid_error;
  if (read_pid_file(paths.pid, &pid, &pid_error) != 0) pid = 0;

  ControlResponse response;
  std::string error;
  switch (control_request(paths.socket, "down", kControlLongTimeoutMs, &response, &error)) {
    case ControlResult::NotRunning:
      print_error(fmt::format("resource {} is not up ({}); nothing to do", r.name, error));
      return kExitOk;
    case ControlResult::Failed: cli_fail(kExitFailed, "{}: {}", r.name, error);
    case ControlResult::Ok: break;
  }
  if (!response.ok) {
    std::string_view body = response.body;
    while (!body.empty() && body.back() == '\n') body.remove_suffix(1);
    cli_fail(response.code, "{}: {}", r.name, body.empty() ? "the daemon refused 'down' without a reason" : body);
  }
  print_body(response.body);

  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(kDaemonExitTimeoutMs);
  for (;;) {
    bool gone = pid > 0 ? !process_exists(pid) : socket_gone(paths.socket);
    if (gone) return kExitOk;
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (pid > 0)
    cli_fail(kExitFailed, "tandemd for {} (pid {}) has not exited {} s after 'down'; see {}", r.name, pid,
             kDaemonExitTimeoutMs / 1000, paths.log);
  cli_fail(kExitFailed, "tandemd for {} has not removed {} {} s after 'down' (no pid file {}); see {}", r.name,
           paths.socket, kDaemonExitTimeoutMs / 1000, paths.pid, paths.log);
}

}  // namespace

const Command kCommand_down = {"down", ResourceArg::Required, "RES",
                               "stop the daemon for RES (demote, flush, save metadata)", run_down};

}  // namespace tandem::adm
