// The loop record survives a round trip, refuses what it cannot vouch for, and recognises our loop device
// both while the daemon's mount namespace exists and after it is gone.
#include "frontend/fuse_loop/loop_record.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

TEST(LoopRecord, RoundTrip) {
  LoopRecord r{7, "/run/tandem/fuse-r0/data", 4242};
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
  LoopRecord r{3, "/run/tandem/fuse-r0/data", 1};
  EXPECT_TRUE(loop_record_matches(r, "/run/tandem/fuse-r0/data"));
  EXPECT_TRUE(loop_record_matches(r, "/data"));
  EXPECT_FALSE(loop_record_matches(r, "/var/lib/images/disk.img"));
  EXPECT_FALSE(loop_record_matches(r, ""));
}

}  // namespace
}  // namespace tandem
