// The bitmap exchange at connect, on the two-node harness: blocks only the sync target knows to be out of
// sync (the activity-log extents of a crashed Primary) are copied by a bitmap-based resync.
#include <gtest/gtest.h>

#include <cstring>

#include "core/attach.h"
#include "core/replica.h"
#include "core/testing/two_node_harness.h"

namespace tandem {
namespace {

using testing::AppIo;
using testing::Cluster;

constexpr uint64_t kSize = 8 << 20;
constexpr uint32_t kShift = 16;  // 64 KiB extents

void write(Cluster& c, int node, uint64_t off, uint8_t fill) {
  AppIo io(IoOp::Write, off, 4096, fill);
  c.replica(node).app_request(&io.req);
  c.run();
  ASSERT_TRUE(io.done);
  ASSERT_EQ(io.result, 0);
}

TEST(ReplicaBitmapExchange, CrashedPrimaryAsTargetGetsItsActivityLogExtentsBack) {
  Cluster c(5, kSize);
  c.connect();
  c.run();
  c.replica(0).promote(true);
  c.run();
  write(c, 0, 0, 1);
  // Node 0 dies as Primary with a write that reached only its own disk (block 40, extent 2 of 64 KiB). Its
  // metadata is what it had persisted (the harness's disconnect would let it react like a live node).
  PersistentState stored = c.node(0).persisted;
  c.disconnect("node 0 crashed");
  std::memset(&c.node(0).disk[40 * 4096], 0xEE, 4096);
  // Node 1 takes over and writes elsewhere.
  c.replica(1).promote(true);
  c.run();
  ASSERT_EQ(c.node(1).promote_result, 1);
  write(c, 1, 100 * 4096, 2);
  // Node 0 restarts: crashed Primary, its activity log held extent 2.
  ASSERT_TRUE(stored.primary);
  AlOnDisk al;
  al.kept = true;
  al.ring.ok = true;
  al.ring.extents = {2};
  AttachPlan plan = plan_attach(stored, false, al);
  ASSERT_FALSE(plan.mark_all_out_of_sync);
  ReplicaConfig cfg{0, 1, 'C', kSize, {}, 0, Fencing::DontCare, {}};
  cfg.al_extents = 4;
  cfg.al_extent_shift = kShift;
  c.node(0).replica = std::make_unique<Replica>(cfg, plan.state, &c.node(0));
  c.replica(0).mark_extents_out_of_sync(plan.mark_extents);
  c.replica(0).start_activity_log();
  EXPECT_EQ(c.replica(0).bitmap().count(), (1u << kShift) / 4096);
  c.connect();
  c.run();
  ASSERT_TRUE(c.connected());
  EXPECT_NE(c.replica(0).status().last_decision.find("sync-target(bitmap)"), std::string::npos)
      << c.replica(0).status().last_decision;
  EXPECT_EQ(c.replica(0).status().disk, DiskState::UpToDate);
  // Node 1 copied its own change and node 0's activity-log extent: identical, with node 1's data.
  EXPECT_EQ(c.node(0).disk, c.node(1).disk);
  EXPECT_EQ(c.node(0).disk[40 * 4096], 0);
  EXPECT_EQ(c.node(0).disk[100 * 4096], 2);
  // 16 blocks of node 0's extent plus node 1's one block, not the whole device.
  EXPECT_EQ(c.replica(1).status().resync_bytes_sent, 17u * 4096);
}

}  // namespace
}  // namespace tandem
