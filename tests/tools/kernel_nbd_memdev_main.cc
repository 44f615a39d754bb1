// Test server for the kernel NBD frontend: serves an in-memory disk as /dev/nbdN until SIGTERM/SIGINT.
//
//   kernel_nbd_memdev [--size-mib 256] [--resource memdev] [--index N] [--control auto|netlink|ioctl]
//                     [--read-only] [--timeout-s N] [--dead-conn-timeout-s N]
//
// stdout protocol, one line per event (scripts wait for these):
//   "/dev/nbdN via netlink|ioctl"   once the device is ready
//   "busy 0|1"                      on SIGUSR1 (KernelNbdFrontend::open_count)
//   "stats flushes=N"               on SIGUSR2 (flushes the target saw)
//   "connected 0|1|-errno"          on SIGHUP (KernelNbdFrontend::kernel_connected)
//   "stopped"                       after SIGTERM/SIGINT tore everything down
// Logs go to stderr. Exit status: 0 after a clean stop, 1 when start failed, 2 on bad arguments.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "common/log.h"
#include "frontend/kernel_nbd/kernel_nbd_frontend.h"
#include "frontend/memory_target.h"
#include "memdev_cli.h"

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: kernel_nbd_memdev [--size-mib N] [--resource NAME] [--index N] "
               "[--control auto|netlink|ioctl] [--read-only] [--timeout-s N] [--dead-conn-timeout-s N]\n");
}

using tandem::testtools::parse_u64;
using tandem::testtools::say;

}  // namespace

int main(int argc, char** argv) {
  using namespace tandem;
  log_set_prefix("kernel_nbd_memdev");
  std::string resource = "memdev";
  uint64_t size_mib = 256;
  bool read_only = false;
  KernelNbdOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    uint64_t v = 0;
    if (a == "--resource" && has_value) {
      resource = argv[++i];
    } else if (a == "--size-mib" && has_value) {
      if (!parse_u64(argv[++i], &size_mib) || size_mib == 0 || size_mib > (64u << 10)) {
        std::fprintf(stderr, "--size-mib: expected 1..65536, got '%s'\n", argv[i]);
        return 2;
      }
    } else if (a == "--index" && has_value) {
      if (!parse_u64(argv[++i], &v) || v > 4095) {
        std::fprintf(stderr, "--index: expected 0..4095, got '%s'\n", argv[i]);
        return 2;
      }
      options.index = static_cast<int>(v);
    } else if (a == "--control" && has_value) {
      std::string c = argv[++i];
      if (c == "auto") {
        options.control = KernelNbdControl::Auto;
      } else if (c == "netlink") {
        options.control = KernelNbdControl::Netlink;
      } else if (c == "ioctl") {
        options.control = KernelNbdControl::Ioctl;
      } else {
        std::fprintf(stderr, "--control: expected auto, netlink or ioctl, got '%s'\n", c.c_str());
        return 2;
      }
    } else if ((a == "--timeout-s" || a == "--dead-conn-timeout-s") && has_value) {
      if (!parse_u64(argv[++i], &v) || v > 3600) {
        std::fprintf(stderr, "%s: expected 0..3600, got '%s'\n", a.c_str(), argv[i]);
        return 2;
      }
      (a == "--timeout-s" ? options.timeout_s : options.dead_conn_timeout_s) = static_cast<uint32_t>(v);
    } else if (a == "--read-only") {
      read_only = true;
    } else if (a == "--debug") {
      log_set_level(LogLevel::Debug);
    } else {
      usage();
      return 2;
    }
  }

  // Block the signals before any thread exists so every thread inherits the mask and only sigwait sees them
  // (a signal in the ioctl path's NBD_DO_IT thread would also disconnect the device).
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP}) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  MemoryTarget target(size_mib << 20);
  target.set_writable(!read_only);
  KernelNbdFrontend frontend(target, resource, options);
  std::string error;
  if (frontend.start(&error) != 0) {
    log_error("{}", error);
    return 1;
  }
  say(frontend.device_path() + (frontend.uses_netlink() ? " via netlink" : " via ioctl"));

  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGUSR1) {
      say("busy " + std::to_string(frontend.open_count()));
    } else if (sig == SIGHUP) {
      std::string status_error;
      int c = frontend.kernel_connected(&status_error);
      if (c < 0) log_warn("{}", status_error);
      say("connected " + std::to_string(c));
    } else if (sig == SIGUSR2) {
      say(fmt::format("stats flushes={}", target.flushes()));
    } else {
      break;
    }
  }
  frontend.stop();
  say("stopped");
  return 0;
}
