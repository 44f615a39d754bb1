// wait-connect RES [--timeout S]: poll `cstate` every 100 ms until it is Connected (default 60 s).
// Prints nothing on success; exit 5 with the last connection state on timeout, 20 if the daemon is not up.
#include <boost/program_options.hpp>

#include <chrono>
#include <thread>

#include "cli_common.h"
#include "commands.h"
#include "control_cli.h"

namespace tandem::adm {
namespace {

using Clock = std::chrono::steady_clock;
inline constexpr double kDefaultTimeoutS = 60;
inline constexpr int kPollIntervalMs = 100;

int run_wait_connect(const CommandArgs& args) {
  std::string timeout_text;
  boost::program_options::options_description opts;
  opts.add_options()("timeout", boost::program_options::value(&timeout_text)->value_name("S"),
                     "give up after S seconds (default 60)");
  boost::program_options::variables_map vm;
  parse_command_options(kCommand_wait_connect, args, opts, nullptr, &vm);
  double timeout_s = vm.count("timeout") ? parse_timeout_s("wait-connect", timeout_text) : kDefaultTimeoutS;
  config::Config cfg = load_config(args.global);
  const std::string& name = find_resource(cfg, args.resource).name;

  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  std::string state;
  for (;;) {
    auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    state = control_or_fail(args.global, name, "cstate",
                            static_cast<int>(std::clamp<int64_t>(left_ms, 1000, kControlTimeoutMs)));
    while (!state.empty() && state.back() == '\n') state.pop_back();
    if (state == "Connected") return kExitOk;
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollIntervalMs));
  }
  cli_fail(kExitTimeout, "{}: not connected after {} s (connection state: {})", name, timeout_s, state);
}

}  // namespace

const Command kCommand_wait_connect = {"wait-connect", ResourceArg::Required, "RES [--timeout S]",
                                       "wait until RES is Connected to its peer (default 60 s)", run_wait_connect};

}  // namespace tandem::adm
