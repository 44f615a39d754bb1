// The loop record survives a round trip, refuses what it cannot vouch for, and recognises our loop device
// both while the daemon's mount namespace exists and after it is gone.
#include "frontend/fuse_loop/loop_record.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

TEST(LoopRecord, RoundTrip) {
  LoopRecord r{7, "/run/tandem/fuse-r0/data", 4242, "", 0};
  std::string text = format_loop_record(r);
  EXPECT_EQ(text, "tandem-loop 1\nloop-index 7\nbacking /run/tandem/fuse-r0/data\npid 4242\n");
  LoopRecord back;
  std::string error;
  ASSERT_TRUE(parse_loop_record(text, &back, &error)) << error;
  EXPECT_EQ(back.index, 7);
  EXPECT_EQ(back.backing, r.backing);
  EXPECT_EQ(back.pid, 4242);
}

TEST(LoopRecord, RefusesOtherVersionsAndIncompleteOrBadRecords) {
  LoopRecord r;
  std::string error;
  EXPECT_FALSE(parse_loop_record("tandem-loop 2\nloop-index 1\nbacking /x/data\npid 1\n", &r, &error));
  EXPECT_NE(error.find("version 2"), std::string::npos) << error;
  EXPECT_FALSE(parse_loop_record("tandem-loop 1\nloop-index 1\npid 1\n", &r, &error));
  EXPECT_FALSE(parse_loop_record("tandem-loop 1\nloop-index -1\nbacking /x/data\npid 1\n", &r, &error));
  EXPECT_FALSE(parse_loop_record("tandem-loop 1\nloop-index 1\nbacking data\npid 1\n", &r, &error));
  EXPECT_FALSE(parse_loop_record("", &r, &error));
  // Unknown keys are a later version's additions.
  EXPECT_TRUE(parse_loop_record("tandem-loop 1\nloop-index 1\nbacking /x/data\npid 1\nnew 5\n", &r, &error)) << error;
}

TEST(LoopRecord, MatchesItsOwnPathAndTheDetachedForm) {
  LoopRecord r{3, "/run/tandem/fuse-r0/data", 1, "", 0};
  EXPECT_TRUE(loop_record_matches(r, "/run/tandem/fuse-r0/data", "0:52", 1));
  EXPECT_TRUE(loop_record_matches(r, "/data", "0:52", 1));
  EXPECT_FALSE(loop_record_matches(r, "/var/lib/images/disk.img", "0:52", 1));
  EXPECT_FALSE(loop_record_matches(r, "", "0:52", 1));
}

// Every FUSE file of another mount namespace reads as "/data": with the identity recorded, another resource's
// live device that took the same number after ours was detached is not ours.
TEST(LoopRecord, IdentityTellsAnotherResourcesDeviceApart) {
  LoopRecord r{3, "/run/tandem/fuse-r0/data", 1, "0:52", 1};
  std::string text = format_loop_record(r);
  EXPECT_EQ(text, "tandem-loop 1\nloop-index 3\nbacking /run/tandem/fuse-r0/data\npid 1\nbacking-dev 0:52\n"
                  "backing-inode 1\n");
  LoopRecord back;
  std::string err;
  ASSERT_TRUE(parse_loop_record(text, &back, &err)) << err;
  EXPECT_EQ(back.backing_dev, "0:52");
  EXPECT_EQ(back.backing_inode, 1u);
  EXPECT_TRUE(loop_record_matches(back, "/data", "0:52", 1));
  EXPECT_FALSE(loop_record_matches(back, "/data", "0:61", 1));
  EXPECT_FALSE(loop_record_matches(back, "/data", "0:52", 2));
  EXPECT_FALSE(parse_loop_record("tandem-loop 1\nloop-index 3\nbacking /x\npid 1\nbacking-dev 52\n", &back, &err));
}

}  // namespace
}  // namespace tandem
