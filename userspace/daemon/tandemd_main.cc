// tandemd: the per-resource daemon. Started by `tandemadm up` (see docs/control-protocol.md); runs in the
// foreground until `tandemadm down` or SIGTERM/SIGINT.
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "common/log.h"
#include "config/config.h"
#include "daemon/resource.h"
#include "io/local_addresses.h"

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: tandemd --config FILE --resource RES [--host NAME] [--run-dir DIR] [--frontend KIND] [--debug]\n"
               "Normally started by 'tandemadm up RES'.\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = "/etc/tandem/tandem.conf", resource, host, run_dir;
  if (const char* env = getenv("TANDEM_RUN_DIR")) run_dir = env;
  if (run_dir.empty()) run_dir = "/run/tandem";
  bool debug = false;
  std::string frontend;
  static const option opts[] = {{"config", required_argument, nullptr, 'c'},
                                {"resource", required_argument, nullptr, 'r'},
                                {"host", required_argument, nullptr, 'H'},
                                {"run-dir", required_argument, nullptr, 'R'},
                                {"debug", no_argument, nullptr, 'd'},
                                {"frontend", required_argument, nullptr, 'f'},
                                {"help", no_argument, nullptr, 'h'},
                                {nullptr, 0, nullptr, 0}};
  for (int c; (c = getopt_long(argc, argv, "c:r:H:R:dh", opts, nullptr)) != -1;) {
    switch (c) {
      case 'c': config_path = optarg; break;
      case 'r': resource = optarg; break;
      case 'H': host = optarg; break;
      case 'R': run_dir = optarg; break;
      case 'd': debug = true; break;
      case 'f': frontend = optarg; break;
      case 'h': usage(); return 0;
      default: usage(); return 1;
    }
  }
  if (resource.empty() || optind != argc) {
    usage();
    return 1;
  }
  tandem::log_set_prefix("tandemd[" + resource + "]");
  if (debug) tandem::log_set_level(tandem::LogLevel::Debug);

  tandem::config::Config cfg;
  std::string err;
  if (!tandem::config::parse_file(config_path, &cfg, &err)) {
    tandem::log_error("{}", err);
    return 10;
  }
  const tandem::config::ResourceConfig* res = cfg.find(resource);
  if (!res) {
    tandem::log_error("resource '{}' is not defined in {}", resource, config_path);
    return 10;
  }
  utsname u{};
  uname(&u);
  std::vector<std::string> addrs;
  std::string addr_err;
  tandem::list_local_ipv4_addresses(&addrs, &addr_err);  // best effort: only a fallback for host selection
  const tandem::config::HostConfig* local = tandem::config::select_local_host(*res, host, u.nodename, addrs, &err);
  if (!local) {
    tandem::log_error("{}", err);
    return 10;
  }
  if (mkdir(run_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    tandem::log_error("cannot create run directory {}: {}", run_dir, strerror(errno));
    return 20;
  }

  // Own mount namespace, as ublksrv does: a filesystem this daemon's device carries, mounted in the host, must
  // not be pinned by this process's copy of the mount table, and the daemon's private mounts (the FUSE+loop
  // frontend's FUSE file) must not clutter or pin the host's. rslave: mounts made in the host later (a
  // filesystem on our device, a run directory) still reach us, so the busy probes see them; ours never go
  // back. Files and sockets are unaffected (same filesystems): the control socket, the run directory and the
  // device symlink work from the host as before. Must happen before any thread exists (unshare(CLONE_NEWNS)
  // also unshares the filesystem context, which threads share).
  bool private_ns = false;
  if (::unshare(CLONE_NEWNS) != 0) {
    tandem::log_warn("no private mount namespace ({}); running in the caller's", strerror(errno));
  } else {
    private_ns = true;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
      tandem::log_warn("cannot make the private mount namespace a slave of the host's: {}", strerror(errno));
  }

  // Signals are taken synchronously by a watcher thread and turned into a clean shutdown of the loop.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  tandem::Resource r({*res, local->name, run_dir, frontend, config_path, private_ns});
  if (!r.start(&err)) {
    tandem::log_error("cannot start resource {}: {}", resource, err);
    return 20;
  }
  std::string pid_path = run_dir + "/" + resource + ".pid";
  {
    std::ofstream pf(pid_path);
    pf << getpid() << "\n";
  }
  std::thread signals([&r, set] {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig != 0) r.request_shutdown();
  });
  signals.detach();
  int rc = r.run();
  unlink(pid_path.c_str());
  return rc;
}
