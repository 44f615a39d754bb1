// Test server for the FUSE+loop frontend: serves an in-memory disk as /dev/loopN until SIGTERM/SIGINT.
//
//   fuse_loop_memdev --dir MOUNT_DIR [--size-mib 256] [--resource memdev] [--no-direct-io] [--read-only]
//                    [--queue-depth 16]
//
// stdout protocol, one line per event (scripts wait for these):
//   "/dev/loopN"                         once the device is ready
//   "busy 0|1"                           on SIGUSR1 (FuseLoopFrontend::open_count)
//   "stats reads=.. writes=.. ..."       on SIGUSR2
//   "stopped"                            after SIGTERM/SIGINT tore everything down
// Logs go to stderr. Exit status: 0 after a clean stop, 1 when start failed, 2 on bad arguments.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/log.h"
#include "frontend/fuse_loop/fuse_loop_frontend.h"
#include "frontend/memory_target.h"
#include "memdev_cli.h"

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: fuse_loop_memdev --dir MOUNT_DIR [--size-mib N] [--resource NAME] [--no-direct-io] "
               "[--read-only] [--queue-depth N]\n");
}

using tandem::testtools::parse_u64;
using tandem::testtools::say;

}  // namespace

int main(int argc, char** argv) {
  using namespace tandem;
  log_set_prefix("fuse_loop_memdev");
  std::string dir;
  std::string resource = "memdev";
  uint64_t size_mib = 256;
  uint64_t queue_depth = 16;
  bool read_only = false;
  FuseLoopOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--dir" && has_value) {
      dir = argv[++i];
    } else if (a == "--resource" && has_value) {
      resource = argv[++i];
    } else if (a == "--size-mib" && has_value) {
      if (!parse_u64(argv[++i], &size_mib) || size_mib == 0 || size_mib > (64u << 10)) {
        std::fprintf(stderr, "--size-mib: expected 1..65536, got '%s'\n", argv[i]);
        return 2;
      }
    } else if (a == "--queue-depth" && has_value) {
      if (!parse_u64(argv[++i], &queue_depth) || queue_depth == 0 || queue_depth > 1024) {
        std::fprintf(stderr, "--queue-depth: expected 1..1024, got '%s'\n", argv[i]);
        return 2;
      }
    } else if (a == "--no-direct-io") {
      options.loop_direct_io = false;
    } else if (a == "--read-only") {
      read_only = true;
    } else if (a == "--debug") {
      log_set_level(LogLevel::Debug);
    } else {
      usage();
      return 2;
    }
  }
  if (dir.empty()) {
    usage();
    return 2;
  }
  options.queue_depth = static_cast<uint32_t>(queue_depth);

  // Block the signals before any thread exists so every thread inherits the mask and only sigwait sees them.
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP}) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  MemoryTarget target(size_mib << 20);
  target.set_writable(!read_only);
  FuseLoopFrontend frontend(target, resource, dir, options);
  std::string error;
  if (frontend.start(&error) != 0) {
    log_error("{}", error);
    return 1;
  }
  say(frontend.device_path());

  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGUSR1) {
      say("busy " + std::to_string(frontend.open_count()));
    } else if (sig == SIGUSR2) {
      FuseFileStats s = frontend.stats();
      say(fmt::format("stats reads={} writes={} flushes={} trims={} write_zeroes={} errors={} max_read={} "
                      "max_write={} negotiated_max_write={} in_flight_max={} loop_direct_io={} io_flusher={}",
                      s.reads, s.writes, s.flushes, s.trims, s.write_zeroes, s.errors, s.max_read_bytes_seen,
                      s.max_write_bytes_seen, s.max_write_bytes_negotiated, s.in_flight_max_seen,
                      frontend.loop_direct_io() ? 1 : 0, s.io_flusher ? 1 : 0));
    } else {
      break;
    }
  }
  frontend.stop();
  say("stopped");
  return 0;
}
