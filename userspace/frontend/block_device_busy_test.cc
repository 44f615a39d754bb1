#include "frontend/block_device_busy.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace tandem {
namespace {

// A child process holds /dev/zero (a character device every Linux has) open until told to exit.
TEST(ProcessesHolding, NamesTheProcessesThatHaveTheDeviceOpen) {
  int go[2];
  int ready[2];
  ASSERT_EQ(::pipe(go), 0);
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int fd = ::open("/dev/zero", O_RDONLY);
    char c = fd >= 0 ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    (void)!::read(go[0], &c, 1);
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  std::string who = processes_holding("/dev/zero", ::getpid());
  EXPECT_NE(who.find("pid " + std::to_string(child) + " ("), std::string::npos) << who;
  (void)!::write(go[1], "x", 1);
  int status = 0;
  ::waitpid(child, &status, 0);
  for (int fd : {go[0], go[1], ready[0], ready[1]}) ::close(fd);
  EXPECT_EQ(processes_holding("/dev/zero", ::getpid()).find("pid " + std::to_string(child) + " "),
            std::string::npos);
}

TEST(ProcessesHolding, NothingForAPathThatIsNoDevice) {
  EXPECT_EQ(processes_holding("/proc/self/status", ::getpid()), "");
  EXPECT_EQ(processes_holding("/nonexistent/device", ::getpid()), "");
}

}  // namespace
}  // namespace tandem
