// Test server for the ublk frontend: serves an in-memory disk (or a regular file) as /dev/ublkbN until
// SIGTERM/SIGINT. Needs a kernel with ublk: run it in the test VM (tests/vm/test-ublk.sh).
//
//   ublk_memdev [--size-mib 256 | --file PATH] [--resource memdev] [--queues N] [--depth N] [--max-io-kib N]
//               [--threads N] [--record PATH] [--read-only] [--debug]
//
// --file keeps the data outside the process, so a kill -9 followed by a restart with the same --record takes
// the device back (user recovery) with the data intact. --threads N completes requests on N worker threads
// (out of order, never on the queue thread), as the replicated target does.
//
// stdout protocol, one line per event (scripts wait for these):
//   "/dev/ublkbN via legacy|ioctl new|recovered"   once the device is ready
//   "busy 0|1"                                     on SIGUSR1 (UblkFrontend::open_count)
//   "stats flushes=N fua=N trims=N zeroes=N"       on SIGUSR2 (what reached the target)
//   "stopped"                                      after SIGTERM/SIGINT tore everything down
// Logs go to stderr. Exit status: 0 after a clean stop, 1 when start failed, 2 on bad arguments.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "common/log.h"
#include "frontend/memory_target.h"
#include "frontend/ublk/ublk_frontend.h"
#include "memdev_cli.h"
#include "nbd_memserver_targets.h"

namespace {

using tandem::testtools::parse_u64;
using tandem::testtools::say;

// Counts what the kernel's special requests became, then forwards.
class CountingTarget final : public tandem::BlockTarget {
 public:
  explicit CountingTarget(tandem::BlockTarget* inner) : inner_(inner) {}
  uint64_t size_bytes() const override { return inner_->size_bytes(); }
  bool writable() const override { return inner_->writable(); }
  void submit(tandem::IoRequest* req) override {
    if (req->op == tandem::IoOp::Flush) flushes++;
    if (req->fua) fua++;
    if (req->op == tandem::IoOp::Trim) trims++;
    if (req->op == tandem::IoOp::WriteZeroes) zeroes++;
    inner_->submit(req);
  }
  std::atomic<uint64_t> flushes{0}, fua{0}, trims{0}, zeroes{0};

 private:
  tandem::BlockTarget* inner_;
};

void usage() {
  std::fprintf(stderr,
               "usage: ublk_memdev [--size-mib N | --file PATH] [--resource NAME] [--queues N] [--depth N] "
               "[--max-io-kib N] [--threads N] [--record PATH] [--read-only] [--debug]\n");
}

// Parses "--name VALUE" as a number in [lo, hi]; false (after a message) when it is not.
bool number_arg(const std::string& name, const char* value, uint64_t lo, uint64_t hi, uint64_t* out) {
  if (parse_u64(value, out) && *out >= lo && *out <= hi) return true;
  std::fprintf(stderr, "%s: expected %llu..%llu, got '%s'\n", name.c_str(), static_cast<unsigned long long>(lo),
               static_cast<unsigned long long>(hi), value);
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tandem;
  log_set_prefix("ublk_memdev");
  std::string resource = "memdev", file;
  uint64_t size_mib = 256, threads = 0, v = 0;
  bool read_only = false;
  UblkOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--resource" && has_value) {
      resource = argv[++i];
    } else if (a == "--file" && has_value) {
      file = argv[++i];
    } else if (a == "--record" && has_value) {
      options.record_path = argv[++i];
    } else if (a == "--size-mib" && has_value) {
      if (!number_arg(a, argv[++i], 1, 64u << 10, &size_mib)) return 2;
    } else if (a == "--queues" && has_value) {
      if (!number_arg(a, argv[++i], 1, 64, &v)) return 2;
      options.nr_hw_queues = static_cast<uint16_t>(v);
    } else if (a == "--depth" && has_value) {
      if (!number_arg(a, argv[++i], 1, 4096, &v)) return 2;
      options.queue_depth = static_cast<uint16_t>(v);
    } else if (a == "--max-io-kib" && has_value) {
      if (!number_arg(a, argv[++i], 4, 1u << 20, &v)) return 2;
      options.max_io_bytes = static_cast<uint32_t>(v << 10);
    } else if (a == "--threads" && has_value) {
      if (!number_arg(a, argv[++i], 0, 64, &threads)) return 2;
    } else if (a == "--read-only") {
      read_only = true;
    } else if (a == "--debug") {
      log_set_level(LogLevel::Debug);
    } else {
      usage();
      return 2;
    }
  }

  // Block the signals before any thread exists so every thread inherits the mask and only sigwait sees them.
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2}) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  std::unique_ptr<BlockTarget> backing;
  if (!file.empty()) {
    std::string error;
    backing = FileTarget::open(file, read_only, &error);
    if (!backing) {
      log_error("{}", error);
      return 1;
    }
  } else {
    auto mem = std::make_unique<MemoryTarget>(size_mib << 20);
    mem->set_writable(!read_only);
    backing = std::move(mem);
  }
  std::unique_ptr<ThreadedTarget> threaded;
  if (threads > 0) threaded = std::make_unique<ThreadedTarget>(backing.get(), static_cast<int>(threads));
  CountingTarget target(threaded ? static_cast<BlockTarget*>(threaded.get()) : backing.get());

  UblkFrontend frontend(target, resource, options);
  std::string error;
  if (frontend.start(&error) != 0) {
    log_error("{}", error);
    return 1;
  }
  say(fmt::format("{} via {} {}", frontend.device_path(), ublk::encoding_name(frontend.encoding()),
                  frontend.recovered() ? "recovered" : "new"));

  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGUSR1) {
      say("busy " + std::to_string(frontend.open_count()));
    } else if (sig == SIGUSR2) {
      say(fmt::format("stats flushes={} fua={} trims={} zeroes={}", target.flushes.load(), target.fua.load(),
                      target.trims.load(), target.zeroes.load()));
    } else {
      break;
    }
  }
  frontend.stop();
  say("stopped");
  return 0;
}
