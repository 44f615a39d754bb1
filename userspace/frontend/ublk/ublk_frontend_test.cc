// What the ublk frontend does without a kernel driver (this build machine has none; the kernel side is
// tested in the VM, tests/vm/test-ublk.sh): start() fails with a message that names the missing piece, and
// a bad shape is refused before the kernel is asked.
#include "frontend/ublk/ublk_frontend.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "frontend/memory_target.h"

namespace tandem {
namespace {

TEST(UblkFrontend, ClearFailureWithoutTheDriver) {
  if (::access("/dev/ublk-control", F_OK) == 0) GTEST_SKIP() << "this machine has ublk; covered by the VM test";
  MemoryTarget target(1u << 20);
  UblkFrontend fe(target, "r0");
  std::string error;
  EXPECT_LT(fe.start(&error), 0);
  EXPECT_NE(error.find("/dev/ublk-control"), std::string::npos) << error;
  EXPECT_NE(error.find("r0"), std::string::npos) << error;
  EXPECT_EQ(fe.device_path(), "");
  EXPECT_EQ(fe.open_count(), 0);
  EXPECT_EQ(fe.kind(), "ublk");
  std::string why;
  EXPECT_FALSE(ublk_available(&why));
  EXPECT_NE(why.find("/dev/ublk-control"), std::string::npos);
  fe.stop();  // harmless when not running
}

TEST(UblkFrontend, BadShapeRefusedBeforeTheKernel) {
  MemoryTarget target(1000);  // smaller than one block
  UblkFrontend fe(target, "tiny");
  std::string error;
  EXPECT_EQ(fe.start(&error), -EINVAL);
  EXPECT_NE(error.find("smaller than one 4096-byte block"), std::string::npos) << error;
  UblkOptions o;
  o.queue_depth = 0;
  MemoryTarget t2(1u << 20);
  UblkFrontend fe2(t2, "nodepth", o);
  EXPECT_EQ(fe2.start(&error), -EINVAL);
  EXPECT_NE(error.find("queue depth"), std::string::npos) << error;
}

}  // namespace
}  // namespace tandem
