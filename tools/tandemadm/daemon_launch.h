// Starting and stopping tandemd from tandemadm (docs/control-protocol.md, "tandemd --config FILE ..."):
// finding the binary, creating the run directory, daemonizing the child, and watching a pid disappear.
//
// find_tandemd and tail_text are pure (the filesystem check is passed in) and unit-tested; the rest are
// thin system-call wrappers that return -errno with a message naming the path.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::adm {

inline constexpr int kDaemonStartTimeoutMs = 15'000;  // up: until `ping` answers `pong`
inline constexpr int kDaemonExitTimeoutMs = 30'000;   // down: until the pid is gone
inline constexpr size_t kLogTailLines = 15;           // shown when the daemon dies during `up`

// Where tandemd is looked for, in order (the first executable candidate wins):
//   1. next to the tandemadm executable (`self_exe`'s directory): an installed pair;
//   2. SELFDIR/../userspace/tandemd: the build tree (build/tools/tandemadm, build/userspace/tandemd);
//   3. $TANDEMD (`env_tandemd`, may be null or empty);
//   4. each directory of $PATH (`path_env`, may be null).
// Returns the path found, or "" with *tried listing every candidate (for the error message).
std::string find_tandemd(const std::string& self_exe, const char* env_tandemd, const char* path_env,
                         const std::function<bool(const std::string&)>& is_executable,
                         std::vector<std::string>* tried);

// readlink("/proc/self/exe"), or "" when unavailable.
std::string self_exe_path();
// A regular file this process may execute.
bool is_executable_file(const std::string& path);

// The daemon's command line (argv[0] is the binary path).
std::vector<std::string> tandemd_argv(const std::string& binary, const std::string& abs_config_path,
                                      const std::string& resource, const std::string& host,
                                      const std::string& run_dir);
// argv as a shell command line, quoting words that need it (for --dry-run output).
std::string shell_join(const std::vector<std::string>& argv);

// mkdir -p for the parents (mode 0755), then `dir` itself with mode 0700; an existing directory is left as is.
int ensure_run_dir(const std::string& dir, std::string* error);

// Forks; the child calls setsid, takes stdin from /dev/null, appends stdout and stderr to `log_path`
// (created with mode 0600) and execs argv. Returns 0 with the child's pid once exec has succeeded, or -errno
// with a message (exec failures are reported through a close-on-exec pipe, so a missing or non-executable
// binary is an error here rather than a silent exit of the child).
int launch_daemon(const std::vector<std::string>& argv, const std::string& log_path, pid_t* pid,
                  std::string* error);

// "exited with status 3", "was killed by signal 9 (Killed)".
std::string describe_wait_status(int status);

// The last `max_lines` lines of `text` (a final newline does not start an empty line).
std::string tail_text(std::string_view text, size_t max_lines);
// The last lines of a file, read from at most its last 16 KiB; "" when unreadable.
std::string tail_file(const std::string& path, size_t max_lines);

// Reads a pid file ("1234\n"). Returns 0, -ENOENT when absent, -EINVAL when it does not hold a pid.
int read_pid_file(const std::string& path, pid_t* pid, std::string* error);
// Whether a process with this pid exists and has not exited (kill(pid, 0), EPERM counting as existing; a
// zombie counts as exited).
bool process_exists(pid_t pid);

}  // namespace tandem::adm
