// nbd_memserver: serves an in-memory (or file-backed) disk through NbdExport on a unix socket, so NBD clients
// (nbdinfo, nbdcopy, qemu-img, fio's nbd engine) can be tested against the export without the daemon.
//
//   nbd_memserver --socket PATH --size BYTES [--name NAME] [--read-only] [--file PATH] [--threads N]
//
// --file serves an existing regular file (pread/pwrite, fdatasync for flush and FUA) instead of memory.
// --threads N completes requests on N worker threads (default 4), so replies come back out of order as they
// would from the replicated target. Runs until SIGINT or SIGTERM; prints "ready" on stdout once listening.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "common/log.h"
#include "frontend/memory_target.h"
#include "frontend/nbd_export/nbd_export.h"
#include "nbd_memserver_targets.h"

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: nbd_memserver --socket PATH (--size BYTES | --file PATH) [--name NAME] [--read-only]\n"
               "                     [--threads N]\n");
}

// Accepts plain bytes or a K/M/G suffix (powers of 1024).
bool parse_size(const char* text, uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text) return false;
  uint64_t mult = 1;
  if (*end == 'K' || *end == 'k') mult = 1ull << 10, end++;
  else if (*end == 'M' || *end == 'm') mult = 1ull << 20, end++;
  else if (*end == 'G' || *end == 'g') mult = 1ull << 30, end++;
  if (*end != '\0') return false;
  *out = v * mult;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tandem;
  NbdExportOptions opts;
  opts.export_name = "mem";
  uint64_t size_bytes = 0;
  bool read_only = false;
  std::string file;
  int threads = 4;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "nbd_memserver: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--socket") opts.socket_path = next();
    else if (a == "--name") opts.export_name = next();
    else if (a == "--file") file = next();
    else if (a == "--read-only") read_only = true;
    else if (a == "--threads") threads = std::atoi(next());
    else if (a == "--size") {
      const char* v = next();
      if (!parse_size(v, &size_bytes)) {
        std::fprintf(stderr, "nbd_memserver: bad --size '%s'\n", v);
        return 2;
      }
    } else {
      usage();
      return 2;
    }
  }
  if (opts.socket_path.empty() || (size_bytes == 0 && file.empty()) || threads < 0 || threads > 64) {
    usage();
    return 2;
  }

  std::unique_ptr<BlockTarget> backing;
  if (!file.empty()) {
    std::string error;
    backing = FileTarget::open(file, read_only, &error);
    if (!backing) {
      std::fprintf(stderr, "nbd_memserver: %s\n", error.c_str());
      return 1;
    }
  } else {
    auto mem = std::make_unique<MemoryTarget>(size_bytes);
    mem->set_writable(!read_only);
    backing = std::move(mem);
  }
  std::unique_ptr<ThreadedTarget> threaded;
  BlockTarget* target = backing.get();
  if (threads > 0) {
    threaded = std::make_unique<ThreadedTarget>(backing.get(), threads);
    target = threaded.get();
  }

  // Block the stop signals before any thread starts, so only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  log_set_prefix("nbd_memserver");
  NbdExport exp(target, opts);
  std::string error;
  if (int rc = exp.start(&error); rc != 0) {
    std::fprintf(stderr, "nbd_memserver: %s\n", error.c_str());
    return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop_signals, &sig);
  exp.stop();
  return 0;
}
