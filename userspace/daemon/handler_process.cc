#include "daemon/handler_process.h"

#include <errno.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace tandem {

namespace {

std::vector<char*> env_pointers(const std::vector<std::string>& env) {
  std::vector<char*> envp;
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  return envp;
}

[[noreturn]] void exec_handler(const std::string& cmd, char* const* envp) {
  setsid();
  execle("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr), envp);
  _exit(127);
}

}  // namespace

int spawn_detached_handler(const std::string& cmd, const std::vector<std::string>& env) {
  std::vector<char*> envp = env_pointers(env);
  pid_t pid = fork();
  if (pid < 0) return -errno;
  if (pid == 0) {
    if (fork() != 0) _exit(0);
    exec_handler(cmd, envp.data());
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return 0;
}

int spawn_watched_handler(const std::string& cmd, const std::vector<std::string>& env, pid_t* pid,
                          UniqueFd* pidfd) {
  std::vector<char*> envp = env_pointers(env);
  pid_t child = fork();
  if (child < 0) return -errno;
  if (child == 0) exec_handler(cmd, envp.data());
  int fd = static_cast<int>(syscall(SYS_pidfd_open, child, 0));
  if (fd < 0) {
    int err = errno;
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    return -err;
  }
  *pid = child;
  pidfd->reset(fd);
  return 0;
}

int reap_watched_handler(int pidfd) {
  siginfo_t info{};
  if (waitid(P_PIDFD, static_cast<id_t>(pidfd), &info, WEXITED) < 0) return -errno;
  if (info.si_code == CLD_EXITED) return info.si_status;
  return 128 + info.si_status;
}

}  // namespace tandem
