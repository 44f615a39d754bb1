#include "daemon_launch.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <linux/close_range.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>

#include "common/unique_fd.h"

namespace tandem::adm {
namespace {

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

std::string find_tandemd(const std::string& self_exe, const char* env_tandemd, const char* path_env,
                         const std::function<bool(const std::string&)>& is_executable,
                         std::vector<std::string>* tried) {
  std::vector<std::string> candidates;
  if (!self_exe.empty()) {
    std::string dir = dir_of(self_exe);
    candidates.push_back(dir + "/tandemd");
    candidates.push_back(dir + "/../userspace/tandemd");
  }
  if (env_tandemd != nullptr && env_tandemd[0] != '\0') candidates.emplace_back(env_tandemd);
  if (path_env != nullptr) {
    std::string_view rest = path_env;
    while (true) {
      size_t colon = rest.find(':');
      std::string_view dir = rest.substr(0, colon);
      // An empty PATH entry means the current directory; a daemon launcher should not pick that up by accident.
      if (!dir.empty()) candidates.push_back(std::string(dir) + "/tandemd");
      if (colon == std::string_view::npos) break;
      rest = rest.substr(colon + 1);
    }
  }
  for (const std::string& c : candidates) {
    tried->push_back(c);
    if (is_executable(c)) return c;
  }
  return "";
}

std::string self_exe_path() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

bool is_executable_file(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

std::vector<std::string> tandemd_argv(const std::string& binary, const std::string& abs_config_path,
                                      const std::string& resource, const std::string& host,
                                      const std::string& run_dir) {
  return {binary, "--config", abs_config_path, "--resource", resource, "--host", host, "--run-dir", run_dir};
}

std::string shell_join(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                   "0123456789-_./=:,+@%") == std::string::npos;
    if (plain) {
      out += a;
      continue;
    }
    out += '\'';
    for (char c : a) {
      if (c == '\'') out += "'\\''";
      else out += c;
    }
    out += '\'';
  }
  return out;
}

int ensure_run_dir(const std::string& dir, std::string* error) {
  if (dir.empty()) {
    *error = "empty run directory";
    return -EINVAL;
  }
  // Parents first (like mkdir -p), each allowed to exist already.
  for (size_t pos = dir.find('/', 1); pos != std::string::npos; pos = dir.find('/', pos + 1)) {
    std::string parent = dir.substr(0, pos);
    if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
      int e = errno;
      *error = fmt::format("cannot create directory {}: {}", parent, std::strerror(e));
      return -e;
    }
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    int e = errno;
    *error = fmt::format("cannot create run directory {}: {}", dir, std::strerror(e));
    return -e;
  }
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *error = fmt::format("run directory {} exists but is not a directory", dir);
    return -ENOTDIR;
  }
  return 0;
}

int launch_daemon(const std::vector<std::string>& argv, const std::string& log_path, pid_t* pid,
                  std::string* error) {
  // Everything the child needs is prepared before fork: between fork and exec only async-signal-safe calls.
  std::vector<char*> cargv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  UniqueFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (null_fd.get() < 0) {
    int e = errno;
    *error = fmt::format("cannot open /dev/null: {}", std::strerror(e));
    return -e;
  }
  UniqueFd log_fd(::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (log_fd.get() < 0) {
    int e = errno;
    *error = fmt::format("cannot open log file {}: {}", log_path, std::strerror(e));
    return -e;
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    int e = errno;
    *error = fmt::format("cannot create a pipe: {}", std::strerror(e));
    return -e;
  }
  UniqueFd status_read(pipe_fds[0]), status_write(pipe_fds[1]);
  pid_t child = ::fork();
  if (child < 0) {
    int e = errno;
    *error = fmt::format("cannot fork: {}", std::strerror(e));
    return -e;
  }
  if (child == 0) {
    ::setsid();
    // The daemon must inherit only 0, 1 and 2: a descriptor tandemadm itself inherited (say the pipe a test
    // harness reads our output from) would otherwise stay open for the daemon's whole life. Mark all of them
    // close-on-exec (this includes status_write, which must close at a successful exec); dup2 below clears
    // the flag on the three new standard descriptors.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      for (int fd = 3; fd < 65536; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    if (::dup2(null_fd.get(), 0) < 0 || ::dup2(log_fd.get(), 1) < 0 || ::dup2(log_fd.get(), 2) < 0) {
      int e = errno;
      (void)!::write(status_write.get(), &e, sizeof(e));
      ::_exit(127);
    }
    ::execv(cargv[0], cargv.data());
    int e = errno;
    (void)!::write(status_write.get(), &e, sizeof(e));
    ::_exit(127);
  }
  status_write.reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(status_read.get(), &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(child_errno))) {
    int status = 0;
    ::waitpid(child, &status, 0);
    *error = fmt::format("cannot execute {}: {}", argv[0], std::strerror(child_errno));
    return -child_errno;
  }
  *pid = child;
  return 0;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = ::strsignal(WTERMSIG(status));
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status), name != nullptr ? name : "unknown");
  }
  return fmt::format("ended with wait status {:#x}", status);
}

std::string tail_text(std::string_view text, size_t max_lines) {
  if (max_lines == 0) return "";
  if (text.ends_with('\n')) text.remove_suffix(1);
  size_t start = text.size();
  size_t lines = 0;
  while (start > 0) {
    size_t nl = text.rfind('\n', start - 1);
    if (nl == std::string_view::npos) {
      start = 0;
      break;
    }
    if (++lines == max_lines) {
      start = nl + 1;
      break;
    }
    start = nl;
  }
  return std::string(text.substr(start));
}

std::string tail_file(const std::string& path, size_t max_lines) {
  constexpr off_t kTailBytes = 16 * 1024;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return "";
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return "";
  off_t from = st.st_size > kTailBytes ? st.st_size - kTailBytes : 0;
  std::string data(static_cast<size_t>(st.st_size - from), '\0');
  ssize_t n = ::pread(fd.get(), data.data(), data.size(), from);
  if (n < 0) return "";
  data.resize(static_cast<size_t>(n));
  return tail_text(data, max_lines);
}

int read_pid_file(const std::string& path, pid_t* pid, std::string* error) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    int e = errno;
    *error = fmt::format("cannot open pid file {}: {}", path, std::strerror(e));
    return -e;
  }
  char buf[32];
  ssize_t n = ::read(fd.get(), buf, sizeof(buf));
  if (n < 0) {
    int e = errno;
    *error = fmt::format("cannot read pid file {}: {}", path, std::strerror(e));
    return -e;
  }
  std::string_view text(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 1 || value > INT_MAX) {
    *error = fmt::format("pid file {} does not hold a process id", path);
    return -EINVAL;
  }
  *pid = static_cast<pid_t>(value);
  return 0;
}

bool process_exists(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  // A zombie has exited; it only waits for its parent (the caller's test harness, say) to reap it.
  // /proc/PID/stat is "PID (COMM) STATE ...", and COMM may itself contain ')'.
  UniqueFd fd(::open(fmt::format("/proc/{}/stat", pid).c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return true;
  char buf[512];
  ssize_t n = ::read(fd.get(), buf, sizeof(buf));
  if (n <= 0) return true;
  std::string_view stat(buf, static_cast<size_t>(n));
  size_t close = stat.rfind(')');
  return !(close != std::string_view::npos && close + 2 < stat.size() && stat[close + 2] == 'Z');
}

}  // namespace tandem::adm
