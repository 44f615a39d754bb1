// wait-sync RES [--timeout S]: poll `status-json` until RES is Connected, no resync is running and both disks
// are UpToDate (default timeout 3600 s). On a terminal, a one-line progress bar is redrawn; otherwise nothing
// is printed until the end. Prints "RES: in sync (UpToDate/UpToDate)" when done. Exit 5 on timeout,
// 20 on split brain (waiting cannot end it) or when the daemon is not up.
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "cli_common.h"
#include "commands.h"
#include "control_cli.h"
#include "sync_progress.h"

namespace tandem::adm {
namespace {

using Clock = std::chrono::steady_clock;
inline constexpr double kDefaultTimeoutS = 3600;
inline constexpr int kPollIntervalMs = 250;
inline constexpr int kBarWidthChars = 30;

int run_wait_sync(const CommandArgs& args) {
  std::string timeout_text;
  boost::program_options::options_description opts;
  opts.add_options()("timeout", boost::program_options::value(&timeout_text)->value_name("S"),
                     "give up after S seconds (default 3600)");
  boost::program_options::variables_map vm;
  parse_command_options(kCommand_wait_sync, args, opts, nullptr, &vm);
  double timeout_s = vm.count("timeout") ? parse_timeout_s("wait-sync", timeout_text) : kDefaultTimeoutS;
  config::Config cfg = load_config(args.global);
  const std::string& name = find_resource(cfg, args.resource).name;
  const bool tty = ::isatty(STDOUT_FILENO) == 1;
  bool bar_shown = false;
  auto end_bar = [&] {
    if (bar_shown) std::fputs("\r\x1b[K", stdout);
    bar_shown = false;
  };

  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  SyncView view;
  for (;;) {
    auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    std::string body;
    try {
      body = control_or_fail(args.global, name, "status-json",
                             static_cast<int>(std::clamp<int64_t>(left_ms, 1000, kControlTimeoutMs)));
    } catch (const CliError&) {
      end_bar();
      std::fflush(stdout);
      throw;
    }
    JsonValue status;
    std::string error;
    if (!parse_json(body, &status, &error)) {
      end_bar();
      cli_fail(kExitFailed, "{}: invalid status-json from the daemon: {}", name, error);
    }
    view = evaluate_sync(status);
    if (view.in_sync) {
      end_bar();
      fmt::print("{}: in sync ({}/{})\n", name, view.disk_state, view.peer_disk_state);
      return kExitOk;
    }
    if (view.split_brain) {
      end_bar();
      std::fflush(stdout);
      cli_fail(kExitFailed, "{}: split brain detected; waiting cannot resolve it (see 'tandemadm status {}')", name,
               name);
    }
    if (tty) {
      fmt::print("\r{}\x1b[K", progress_line(name, view, kBarWidthChars));
      std::fflush(stdout);
      bar_shown = true;
    }
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollIntervalMs));
  }
  end_bar();
  std::fflush(stdout);
  cli_fail(kExitTimeout, "{}: not in sync after {} s ({})", name, timeout_s, progress_line(name, view, kBarWidthChars));
}

}  // namespace

const Command kCommand_wait_sync = {"wait-sync", ResourceArg::Required, "RES [--timeout S]",
                                    "wait until RES is connected and both disks are UpToDate (default 3600 s)",
                                    run_wait_sync};

}  // namespace tandem::adm
