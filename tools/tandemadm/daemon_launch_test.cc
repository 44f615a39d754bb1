#include "daemon_launch.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace tandem::adm {
namespace {

TEST(FindTandemd, PrefersSiblingThenBuildTreeThenEnvThenPath) {
  std::set<std::string> exists;
  auto is_exec = [&](const std::string& p) { return exists.contains(p); };
  std::vector<std::string> tried;
  EXPECT_EQ(find_tandemd("/usr/sbin/tandemadm", "/opt/tandemd", "/bin:/usr/local/sbin", is_exec, &tried), "");
  EXPECT_EQ(tried, (std::vector<std::string>{"/usr/sbin/tandemd", "/usr/sbin/../userspace/tandemd", "/opt/tandemd",
                                             "/bin/tandemd", "/usr/local/sbin/tandemd"}));
  exists = {"/usr/local/sbin/tandemd"};
  tried.clear();
  EXPECT_EQ(find_tandemd("/usr/sbin/tandemadm", "/opt/tandemd", "/bin:/usr/local/sbin", is_exec, &tried),
            "/usr/local/sbin/tandemd");
  exists.insert("/opt/tandemd");
  EXPECT_EQ(find_tandemd("/usr/sbin/tandemadm", "/opt/tandemd", "/bin", is_exec, &tried), "/opt/tandemd");
  exists.insert("/b/tools/../userspace/tandemd");
  EXPECT_EQ(find_tandemd("/b/tools/tandemadm", "/opt/tandemd", "/bin", is_exec, &tried),
            "/b/tools/../userspace/tandemd");
  exists.insert("/b/tools/tandemd");
  EXPECT_EQ(find_tandemd("/b/tools/tandemadm", "/opt/tandemd", "/bin", is_exec, &tried), "/b/tools/tandemd");
}

TEST(FindTandemd, SkipsEmptyEntriesAndMissingInputs) {
  std::vector<std::string> tried;
  auto never = [](const std::string&) { return false; };
  EXPECT_EQ(find_tandemd("", nullptr, ":/x::", never, &tried), "");
  EXPECT_EQ(tried, (std::vector<std::string>{"/x/tandemd"}));  // "" in PATH is not the current directory here
  tried.clear();
  EXPECT_EQ(find_tandemd("", "", nullptr, never, &tried), "");
  EXPECT_TRUE(tried.empty());
}

TEST(DaemonLaunch, ArgvAndShellJoin) {
  auto argv = tandemd_argv("/b/tandemd", "/etc/tandem/tandem.conf", "r0", "alpha", "/run/tandem");
  EXPECT_EQ(shell_join(argv),
            "/b/tandemd --config /etc/tandem/tandem.conf --resource r0 --host alpha --run-dir /run/tandem");
  EXPECT_EQ(shell_join({"a b", "it's", ""}), "'a b' 'it'\\''s' ''");
}

TEST(DaemonLaunch, TailText) {
  EXPECT_EQ(tail_text("a\nb\nc\n", 2), "b\nc");
  EXPECT_EQ(tail_text("a\nb\nc", 2), "b\nc");
  EXPECT_EQ(tail_text("a\nb\nc\n", 5), "a\nb\nc");
  EXPECT_EQ(tail_text("only", 1), "only");
  EXPECT_EQ(tail_text("", 3), "");
  EXPECT_EQ(tail_text("a\nb", 0), "");
}

TEST(DaemonLaunch, DescribeWaitStatus) {
  EXPECT_EQ(describe_wait_status(3 << 8), "exited with status 3");
  EXPECT_EQ(describe_wait_status(9), "was killed by signal 9 (Killed)");
}

class LaunchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tandemadm-launch.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { (void)!std::system(("rm -rf " + dir_).c_str()); }
  std::string read(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  std::string dir_;
};

TEST_F(LaunchTest, ChildRunsInOwnSessionWithLogAndNullStdin) {
  std::string log = dir_ + "/r0.log";
  std::ofstream(log) << "earlier run\n";
  // Prints whether it leads its own session, what stdin yields, and which descriptors it holds.
  std::vector<std::string> argv = {"/bin/sh", "-c",
                                   "ps -o sid= -p $$ | tr -d ' '; echo pid=$$; cat; echo stdin-done; "
                                   "ls /proc/self/fd | sort -n | tr '\\n' ' '; echo; echo err >&2"};
  pid_t pid = 0;
  std::string error;
  ASSERT_EQ(launch_daemon(argv, log, &pid, &error), 0) << error;
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_EQ(describe_wait_status(status), "exited with status 0");
  std::string text = read(log);
  EXPECT_TRUE(text.starts_with("earlier run\n" + std::to_string(pid) + "\npid=" + std::to_string(pid) +
                               "\nstdin-done\n"))
      << text;
  // 0-2, plus the descriptor `ls` opens for /proc/self/fd: nothing of ours leaked.
  EXPECT_NE(text.find("\n0 1 2 3 \nerr\n"), std::string::npos) << text;
}

TEST_F(LaunchTest, ExecFailureIsReportedNotSilent) {
  pid_t pid = 0;
  std::string error;
  EXPECT_EQ(launch_daemon({dir_ + "/no-such-tandemd"}, dir_ + "/r0.log", &pid, &error), -ENOENT);
  EXPECT_EQ(error, "cannot execute " + dir_ + "/no-such-tandemd: No such file or directory");
  struct stat st{};
  ASSERT_EQ(::stat((dir_ + "/r0.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "a log we create is private";
}

TEST_F(LaunchTest, RunDirIsCreatedPrivateWithParents) {
  std::string run = dir_ + "/a/b/run";
  std::string error;
  ASSERT_EQ(ensure_run_dir(run, &error), 0) << error;
  struct stat st{};
  ASSERT_EQ(::stat(run.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(ensure_run_dir(run, &error), 0) << "an existing directory is fine";
  std::ofstream(dir_ + "/file") << "x";
  EXPECT_EQ(ensure_run_dir(dir_ + "/file", &error), -ENOTDIR);
}

TEST_F(LaunchTest, PidFiles) {
  pid_t pid = 0;
  std::string error;
  EXPECT_EQ(read_pid_file(dir_ + "/none.pid", &pid, &error), -ENOENT);
  std::ofstream(dir_ + "/ok.pid") << ::getpid() << "\n";
  ASSERT_EQ(read_pid_file(dir_ + "/ok.pid", &pid, &error), 0) << error;
  EXPECT_EQ(pid, ::getpid());
  EXPECT_TRUE(process_exists(pid));
  std::ofstream(dir_ + "/bad.pid") << "12ab\n";
  EXPECT_EQ(read_pid_file(dir_ + "/bad.pid", &pid, &error), -EINVAL);
  EXPECT_NE(error.find("does not hold a process id"), std::string::npos);
}

TEST_F(LaunchTest, ZombieCountsAsExited) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  // Not reaped yet: a zombie until waitpid below.
  for (int i = 0; i < 200 && process_exists(child); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(process_exists(child));
  int status = 0;
  ::waitpid(child, &status, 0);
}

}  // namespace
}  // namespace tandem::adm
