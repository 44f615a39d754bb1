// FuseLoopFrontend on a real loop device: needs root, /dev/fuse and /dev/loop-control, skipped otherwise.
#include "frontend/fuse_loop/fuse_loop_frontend.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/unique_fd.h"
#include "frontend/memory_target.h"

namespace tandem {
namespace {

class FuseLoopFrontendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (::access("/dev/fuse", R_OK | W_OK) != 0) GTEST_SKIP() << "no usable /dev/fuse";
    if (::access("/dev/loop-control", R_OK | W_OK) != 0) GTEST_SKIP() << "no /dev/loop-control";
    char tmpl[] = "/tmp/tandem-fuse-loop-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
  }
  void TearDown() override {
    if (base_.empty()) return;
    ::rmdir((base_ + "/fuse-r0").c_str());
    ::rmdir(base_.c_str());
  }
  std::string base_;
};

TEST_F(FuseLoopFrontendTest, ServesADirectIoBlockDevice) {
  MemoryTarget mem(16u << 20);
  FuseLoopFrontend fe(mem, "r0", base_ + "/fuse-r0/");
  std::string error;
  ASSERT_EQ(fe.start(&error), 0) << error;
  EXPECT_EQ(fe.kind(), "fuse-loop");
  ASSERT_EQ(fe.device_path().rfind("/dev/loop", 0), 0u) << fe.device_path();
  EXPECT_EQ(fe.backing_file_path(), base_ + "/fuse-r0/data");
  EXPECT_EQ(fe.open_count(), 0);

  {
    UniqueFd dev(::open(fe.device_path().c_str(), O_RDWR | O_DIRECT | O_CLOEXEC));
    ASSERT_TRUE(dev.valid()) << std::strerror(errno);
    void* mem_buf = nullptr;
    ASSERT_EQ(::posix_memalign(&mem_buf, 4096, 1u << 20), 0);
    std::unique_ptr<uint8_t, decltype(&std::free)> buf(static_cast<uint8_t*>(mem_buf), &std::free);
    for (size_t i = 0; i < (1u << 20); ++i) buf.get()[i] = static_cast<uint8_t>(i * 13 + 1);
    ASSERT_EQ(::pwrite(dev.get(), buf.get(), 1u << 20, 4u << 20), 1 << 20) << std::strerror(errno);
    ASSERT_EQ(::fdatasync(dev.get()), 0);
    std::vector<uint8_t> snap = mem.snapshot();
    EXPECT_EQ(std::memcmp(&snap[4u << 20], buf.get(), 1u << 20), 0);
    EXPECT_GE(mem.flushes(), 1);
  }

  // An exclusive opener (what a mount does) makes the device busy; try_stop must then refuse.
  {
    UniqueFd excl(::open(fe.device_path().c_str(), O_RDONLY | O_EXCL | O_CLOEXEC));
    ASSERT_TRUE(excl.valid()) << std::strerror(errno);
    EXPECT_EQ(fe.open_count(), 1);
    EXPECT_EQ(fe.try_stop(&error), -EBUSY);
    EXPECT_NE(error.find(fe.device_path()), std::string::npos) << error;
    EXPECT_FALSE(fe.device_path().empty());
  }
  EXPECT_EQ(fe.open_count(), 0);

  std::string dev_path = fe.device_path();
  int index = std::atoi(dev_path.c_str() + std::strlen("/dev/loop"));
  ASSERT_EQ(fe.try_stop(&error), 0) << error;
  EXPECT_EQ(fe.device_path(), "");
  struct stat st;
  EXPECT_NE(::stat(("/sys/block/loop" + std::to_string(index) + "/loop").c_str(), &st), 0)
      << dev_path << " still bound after try_stop";
  EXPECT_NE(::stat(fe.backing_file_path().c_str(), &st), 0) << "FUSE file still visible after stop";
}

TEST_F(FuseLoopFrontendTest, ReadOnlyTargetGivesReadOnlyDevice) {
  MemoryTarget mem(4u << 20);
  mem.set_writable(false);
  FuseLoopFrontend fe(mem, "r0", base_ + "/fuse-r0");
  std::string error;
  ASSERT_EQ(fe.start(&error), 0) << error;
  std::string ro;
  int index = std::atoi(fe.device_path().c_str() + std::strlen("/dev/loop"));
  UniqueFd f(::open(("/sys/block/loop" + std::to_string(index) + "/ro").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(f.valid());
  char c = 0;
  ASSERT_EQ(::read(f.get(), &c, 1), 1);
  EXPECT_EQ(c, '1');
  fe.stop();
  EXPECT_EQ(fe.device_path(), "");
}

}  // namespace
}  // namespace tandem
