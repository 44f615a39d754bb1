// tandem_sim: the deterministic two-node simulator (see sim_world.h).
//   tandem_sim --seed N [-v]          one seed; -v prints every event
//   tandem_sim --seeds N [--first S]  seeds S .. S+N-1; prints each failing seed with its replay command
//   --check-determinism               runs every seed twice and compares the trace hashes
//   --io-errors RATE                  inject I/O errors (off by default, so that a fault-free run can flag any
//                                     connection drop; ctest's sim_io_errors runs with 0.005)
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/log.h"
#include "tests/sim/sim_world.h"

namespace {

int g_stderr_fd = 2;
volatile uint64_t g_current_seed = 0;

// A broken TANDEM_CHECK in the core aborts the process: still say which seed did it.
void on_abort(int) {
  char buf[160];
  int n = snprintf(buf, sizeof buf,  // flags: see the FAIL lines' replay commands
                   "\nFAIL seed %llu: aborted (an invariant check failed)\n  replay: make sim SEED=%llu\n",
                   static_cast<unsigned long long>(g_current_seed), static_cast<unsigned long long>(g_current_seed));
  ssize_t ignored = write(g_stderr_fd, buf, static_cast<size_t>(n));
  (void)ignored;
  signal(SIGABRT, SIG_DFL);
  abort();
}

struct Args {
  uint64_t first = 1, count = 1;
  bool single = false, verbose = false, determinism = false;
  double io_errors = 0;
  bool secondary_cache_loss = true;
  bool remark_crashed_primary = false;
  bool activity_log = true;
};

bool parse(int argc, char** argv, Args* a) {
  for (int i = 1; i < argc; i++) {
    std::string s = argv[i];
    auto value = [&](const char* name) -> const char* {
      if (i + 1 >= argc) {
        fmt::print(stderr, "tandem_sim: {} needs a value\n", name);
        return nullptr;
      }
      return argv[++i];
    };
    if (s == "--seed") {
      const char* v = value("--seed");
      if (!v) return false;
      a->first = std::strtoull(v, nullptr, 10);
      a->count = 1;
      a->single = true;
    } else if (s == "--seeds") {
      const char* v = value("--seeds");
      if (!v) return false;
      a->count = std::strtoull(v, nullptr, 10);
    } else if (s == "--first") {
      const char* v = value("--first");
      if (!v) return false;
      a->first = std::strtoull(v, nullptr, 10);
    } else if (s == "-v" || s == "--verbose") {
      a->verbose = true;
    } else if (s == "--check-determinism") {
      a->determinism = true;
    } else if (s == "--remark-crashed-primary") {
      a->remark_crashed_primary = true;
    } else if (s == "--no-activity-log") {
      a->activity_log = false;
    } else if (s == "--no-secondary-cache-loss") {
      a->secondary_cache_loss = false;
    } else if (s == "--io-errors") {
      const char* v = value("--io-errors");
      if (!v) return false;
      a->io_errors = std::strtod(v, nullptr);
    } else {
      fmt::print(stderr, "tandem_sim: unknown argument '{}'\nusage: tandem_sim [--seed N [-v] | --seeds N [--first S]] "
                 "[--check-determinism] [--io-errors RATE]\n", s);
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!parse(argc, argv, &args)) return 2;
  // The core logs to stderr with wall-clock stamps; keep it only when replaying one seed verbosely.
  g_stderr_fd = dup(2);
  if (!args.verbose) {
    int null_fd = open("/dev/null", O_WRONLY);
    if (null_fd >= 0) dup2(null_fd, 2);
  } else {
    tandem::log_set_level(tandem::LogLevel::Info);
  }
  tandem::log_set_prefix("core");
  signal(SIGABRT, on_abort);

  std::string flags;  // repeated in every replay command so the replay runs the same scenario subset
  if (!args.secondary_cache_loss) flags += " --no-secondary-cache-loss";
  if (args.remark_crashed_primary) flags += " --remark-crashed-primary";
  if (!args.activity_log) flags += " --no-activity-log";
  if (args.io_errors > 0) flags += fmt::format(" --io-errors {}", args.io_errors);
  std::string make_flags = flags.empty() ? "" : fmt::format(" SIM_FLAGS='{}'", flags.substr(1));

  tandem::sim::SimStats total;
  std::vector<uint64_t> failed;
  for (uint64_t seed = args.first; seed < args.first + args.count; seed++) {
    g_current_seed = seed;
    tandem::sim::SimOptions opt{seed, args.verbose, args.io_errors, args.secondary_cache_loss,
                                args.remark_crashed_primary, args.activity_log};
    uint64_t hash = 0;
    try {
      tandem::sim::World w(opt);
      w.run();
      hash = w.trace_hash();
      const auto& s = w.stats();
      total.events += s.events;
      total.writes_acked += s.writes_acked;
      total.reads_checked += s.reads_checked;
      total.promotions += s.promotions;
      total.forced_promotions += s.forced_promotions;
      total.crashes += s.crashes;
      total.clean_downs += s.clean_downs;
      total.resyncs += s.resyncs;
      total.split_brains += s.split_brains;
      total.unrelated += s.unrelated;
      total.identical_checks += s.identical_checks;
      total.split_brains_one_side_unwritten += s.split_brains_one_side_unwritten;
      total.al_bounded_restarts += s.al_bounded_restarts;
      total.al_checks += s.al_checks;
    } catch (const tandem::sim::SimFailure& e) {
      fmt::print("FAIL seed {}: {}\n  replay: make sim SEED={}{}   (or: tandem_sim --seed {} -v{})\n", seed, e.what(),
                 seed, make_flags, seed, flags);
      failed.push_back(seed);
      continue;
    }
    if (args.determinism) {
      tandem::sim::SimOptions quiet = opt;
      quiet.verbose = false;
      uint64_t again = 0;
      try {
        tandem::sim::World w(quiet);
        w.run();
        again = w.trace_hash();
      } catch (const tandem::sim::SimFailure&) {
      }
      if (again != hash) {
        fmt::print("FAIL seed {}: not deterministic (trace hash {:016x} then {:016x})\n", seed, hash, again);
        failed.push_back(seed);
      }
    }
    if (args.single) fmt::print("seed {} passed, trace hash {:016x}\n", seed, hash);
  }
  fmt::print("tandem_sim: {} seeds from {}, {} failed; {} events, {} writes acknowledged, {} reads checked, {} "
             "promotions ({} forced), {} crashes, {} clean downs, {} resyncs, {} split brains ({} with a side "
             "that never wrote), {} unrelated, {} identity checks, {} restarts bounded by the activity log, {} "
             "activity-log checks\n",
             args.count, args.first, failed.size(), total.events, total.writes_acked, total.reads_checked,
             total.promotions, total.forced_promotions, total.crashes, total.clean_downs, total.resyncs,
             total.split_brains, total.split_brains_one_side_unwritten, total.unrelated, total.identical_checks,
             total.al_bounded_restarts, total.al_checks);
  if (!failed.empty()) {
    std::string list;
    for (size_t i = 0; i < failed.size() && i < 40; i++) list += fmt::format(" {}", failed[i]);
    fmt::print("failing seeds:{}{}\n", list, failed.size() > 40 ? " ..." : "");
    return 1;
  }
  return 0;
}
