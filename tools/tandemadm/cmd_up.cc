// up RES: start this node's daemon for RES and let it connect to the peer (DRBD's `drbdadm up`).
//
// Plan (printed by --dry-run after the read-only checks): refuse if a daemon already answers on RES.ctl;
// refuse if the disk has no tandem metadata; create the run directory (0700); start tandemd daemonized
// with its output appended to RES.log; wait up to 15 s for `ping` → `pong`; send `connect`.
// The read-only checks also run under --dry-run: the plan is only worth printing if it could work.
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <thread>

#include "cli_common.h"
#include "commands.h"
#include "control_cli.h"
#include "daemon_launch.h"
#include "meta/md_device.h"

namespace tandem::adm {
namespace {

using Clock = std::chrono::steady_clock;

std::string indented_log_tail(const std::string& log_path) {
  std::string tail = tail_file(log_path, kLogTailLines);
  if (tail.empty()) return fmt::format("{} is empty", log_path);
  std::string out = fmt::format("last lines of {}:", log_path);
  size_t start = 0;
  while (start <= tail.size()) {
    size_t nl = tail.find('\n', start);
    out += "\n    " + tail.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

void check_not_running(const std::string& resource, const RunPaths& paths) {
  ControlResponse response;
  std::string error;
  switch (control_request(paths.socket, "ping", kControlTimeoutMs, &response, &error)) {
    case ControlResult::NotRunning: return;
    case ControlResult::Ok:
      cli_fail(kExitFailed, "resource {} is already up (tandemd answers on {})", resource, paths.socket);
    case ControlResult::Failed:
      cli_fail(kExitFailed, "resource {}: cannot tell whether a daemon is already running: {}", resource, error);
  }
}

void check_metadata(const std::string& resource, const meta::MdPaths& paths) {
  meta::Superblock sb;
  meta::Layout layout;
  std::string error;
  int rc = meta::read_md(paths, &sb, &layout, &error);
  if (rc == -ENODATA)
    cli_fail(kExitFailed, "no tandem metadata on {}: run 'tandemadm create-md {}' first", paths.md_path(), resource);
  if (rc != 0) cli_fail(kExitFailed, "resource {}: {}", resource, error);
}

std::string locate_tandemd() {
  std::vector<std::string> tried;
  std::string found =
      find_tandemd(self_exe_path(), std::getenv("TANDEMD"), std::getenv("PATH"), is_executable_file, &tried);
  if (found.empty()) {
    std::string list;
    for (const std::string& t : tried) list += (list.empty() ? "" : ", ") + t;
    cli_fail(kExitFailed, "cannot find the tandemd executable (tried {}); install it next to tandemadm or set $TANDEMD",
             list);
  }
  // Show and run the plain path (build/userspace/tandemd rather than build/tools/../userspace/tandemd).
  char buf[PATH_MAX];
  return ::realpath(found.c_str(), buf) != nullptr ? std::string(buf) : found;
}

// Waits until the daemon answers `ping` with `pong`, or fails with what is known about why not.
void wait_until_answering(const std::string& resource, pid_t pid, const RunPaths& paths) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(kDaemonStartTimeoutMs);
  std::string last_error = "no answer yet";
  for (;;) {
    int status = 0;
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid)
      cli_fail(kExitFailed, "tandemd for {} {} before answering on {}; {}", resource, describe_wait_status(status),
               paths.socket, indented_log_tail(paths.log));
    auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left_ms <= 0) break;
    ControlResponse response;
    std::string error;
    ControlResult r = control_request(paths.socket, "ping", static_cast<int>(std::min<long>(left_ms, 1000)),
                                      &response, &error);
    if (r == ControlResult::Ok) {
      std::string_view body = response.body;
      while (!body.empty() && body.back() == '\n') body.remove_suffix(1);
      if (response.ok && body == "pong") return;
      last_error = fmt::format("unexpected answer to ping: {} {}", response.ok ? "OK" : "ERR", body);
    } else {
      last_error = error;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  cli_fail(kExitFailed,
           "tandemd for {} (pid {}) did not answer 'ping' on {} within {} s ({}); it is still running: stop it "
           "with 'tandemadm down {}' or 'kill {}'; {}",
           resource, pid, paths.socket, kDaemonStartTimeoutMs / 1000, last_error, resource, pid,
           indented_log_tail(paths.log));
}

int run_up(const CommandArgs& args) {
  namespace po = boost::program_options;
  std::string frontend;
  po::options_description opts;
  opts.add_options()("frontend", po::value(&frontend),
                     "kernel device of the Primary: auto, ublk, kernel-nbd or fuse-loop (overrides the config)");
  po::variables_map vm;
  parse_command_options(kCommand_up, args, opts, nullptr, &vm);
  if (!frontend.empty() && frontend != "auto" && frontend != "ublk" && frontend != "kernel-nbd" &&
      frontend != "fuse-loop")
    cli_fail(kExitUsage, fmt::format("--frontend {}: expected auto, ublk, kernel-nbd or fuse-loop", frontend));
  config::Config cfg = load_config(args.global);
  const config::ResourceConfig& r = find_resource(cfg, args.resource);
  LocalAndPeer hosts = resolve_hosts(args.global, r);
  const RunPaths paths = run_paths(args.global.run_dir, r.name);

  check_not_running(r.name, paths);
  check_metadata(r.name, meta::MdPaths{hosts.local->volume.disk, hosts.local->volume.meta_disk});
  std::vector<std::string> argv =
      tandemd_argv(locate_tandemd(), absolute_config_path(args.global), r.name, hosts.local->name,
                   args.global.run_dir);
  if (!frontend.empty()) {
    argv.push_back("--frontend");
    argv.push_back(frontend);
  }
  if (args.global.dry_run) {
    fmt::print("mkdir -p -m 0700 {}\n", shell_join({args.global.run_dir}));
    fmt::print("setsid {} </dev/null >>{} 2>&1 &\n", shell_join(argv), shell_join({paths.log}));
    fmt::print("wait up to {} s for 'ping' to answer 'pong' on {}\n", kDaemonStartTimeoutMs / 1000, paths.socket);
    fmt::print("{}\n", dry_run_send_line(paths.socket, "connect"));
    return kExitOk;
  }

  std::string error;
  if (ensure_run_dir(args.global.run_dir, &error) != 0) cli_fail(kExitFailed, "{}", error);
  pid_t pid = 0;
  if (launch_daemon(argv, paths.log, &pid, &error) != 0) cli_fail(kExitFailed, "resource {}: {}", r.name, error);
  wait_until_answering(r.name, pid, paths);
  print_body(control_or_fail(args.global, r.name, "connect", kControlTimeoutMs));
  return kExitOk;
}

}  // namespace

const Command kCommand_up = {"up", ResourceArg::Required, "RES [--frontend KIND]",
                             "start the daemon for RES (metadata must exist) and connect to the peer", run_up};

}  // namespace tandem::adm
