#include "core/split_brain.h"

#include <gtest/gtest.h>

#include "core/replica.h"
#include "core/testing/two_node_harness.h"

namespace tandem {
namespace {

using Victim = SplitBrainOutcome::Victim;

Victim victim(const SplitBrainPolicy& p, SplitBrainSide a, SplitBrainSide b) {
  Victim v = resolve_split_brain(p, a, b).victim;
  // Symmetry: the peer must reach the mirrored answer.
  Victim w = resolve_split_brain(p, b, a).victim;
  EXPECT_EQ(v == Victim::Local, w == Victim::Peer);
  EXPECT_EQ(v == Victim::Peer, w == Victim::Local);
  return v;
}

TEST(SplitBrainPolicy, Parse) {
  AfterSb0 p0;
  std::string name;
  EXPECT_TRUE(parse_after_sb_0pri("discard-node-beta", &p0, &name));
  EXPECT_EQ(p0, AfterSb0::DiscardNode);
  EXPECT_EQ(name, "beta");
  EXPECT_FALSE(parse_after_sb_0pri("discard-everything", &p0, &name));
  AfterSb1 p1;
  EXPECT_TRUE(parse_after_sb_1pri("consensus", &p1));
  AfterSb2 p2;
  EXPECT_FALSE(parse_after_sb_2pri("discard-secondary", &p2));
}

TEST(SplitBrainPolicy, ZeroChanges) {
  SplitBrainPolicy p;
  p.pri0 = AfterSb0::DiscardZeroChanges;
  EXPECT_EQ(victim(p, {0, Role::Secondary, 4096}, {1, Role::Secondary, 0}), Victim::Peer);
  EXPECT_EQ(victim(p, {0, Role::Secondary, 4096}, {1, Role::Secondary, 8192}), Victim::None);
}

TEST(SplitBrainPolicy, LeastChangesAndDiscardNode) {
  SplitBrainPolicy p;
  p.pri0 = AfterSb0::DiscardLeastChanges;
  EXPECT_EQ(victim(p, {0, Role::Secondary, 4096}, {1, Role::Secondary, 8192}), Victim::Local);
  p.pri0 = AfterSb0::DiscardNode;
  p.discard_node_id = 1;
  EXPECT_EQ(victim(p, {0, Role::Secondary, 4096}, {1, Role::Secondary, 0}), Victim::Peer);
}

TEST(SplitBrainPolicy, OnePrimary) {
  SplitBrainPolicy p;
  p.pri0 = AfterSb0::DiscardZeroChanges;
  p.pri1 = AfterSb1::DiscardSecondary;
  EXPECT_EQ(victim(p, {0, Role::Primary, 4096}, {1, Role::Secondary, 4096}), Victim::Peer);
  p.pri1 = AfterSb1::Consensus;
  EXPECT_EQ(victim(p, {0, Role::Primary, 4096}, {1, Role::Secondary, 0}), Victim::Peer);
  EXPECT_EQ(victim(p, {0, Role::Primary, 0}, {1, Role::Secondary, 4096}), Victim::None);  // would discard the Primary
  p.pri1 = AfterSb1::CallPriLostAfterSb;
  SplitBrainOutcome o = resolve_split_brain(p, {0, Role::Primary, 0}, {1, Role::Secondary, 4096});
  EXPECT_EQ(o.victim, Victim::None);
  EXPECT_TRUE(o.call_pri_lost_after_sb);
}

TEST(SplitBrainPolicy, DisconnectByDefault) {
  EXPECT_EQ(victim({}, {0, Role::Secondary, 0}, {1, Role::Secondary, 0}), Victim::None);
}

// End to end in the core: a split brain where one side never wrote heals itself under discard-zero-changes.
TEST(SplitBrainRecovery, DiscardZeroChangesHeals) {
  SplitBrainPolicy p;
  p.pri0 = AfterSb0::DiscardZeroChanges;
  testing::Cluster c(31, 8 << 20, 'C', p);
  c.connect();
  c.run();
  c.replica(0).promote(true);
  c.run();
  c.disconnect();
  testing::AppIo w(IoOp::Write, 0, 4096, 7);
  c.replica(0).app_request(&w.req);
  c.run();
  ASSERT_EQ(c.replica(0).demote(0), "");
  c.replica(1).promote(true);  // node 1 becomes Primary while apart but writes nothing
  c.run();
  ASSERT_EQ(c.replica(1).demote(0), "");
  c.connect();
  c.run();
  EXPECT_TRUE(c.connected());
  EXPECT_EQ(c.replica(1).status().disk, DiskState::UpToDate);
  EXPECT_EQ(c.node(0).disk, c.node(1).disk);
}

// Manual recovery: both wrote; the victim reconnects with --discard-my-data.
TEST(SplitBrainRecovery, DiscardMyData) {
  testing::Cluster c(32, 8 << 20);
  c.connect();
  c.run();
  c.replica(0).promote(true);
  c.run();
  c.disconnect();
  c.replica(1).promote(true);
  c.run();
  testing::AppIo w0(IoOp::Write, 0, 4096, 1), w1(IoOp::Write, 8192, 4096, 2);
  c.replica(0).app_request(&w0.req);
  c.replica(1).app_request(&w1.req);
  c.run();
  c.connect();
  c.run();
  EXPECT_FALSE(c.connected());  // split brain, StandAlone (on whichever node saw the other's State first)
  EXPECT_TRUE(c.replica(0).status().suspended_split_brain || c.replica(1).status().suspended_split_brain);
  ASSERT_EQ(c.replica(1).demote(0), "");
  c.replica(1).set_discard_my_data(true);
  c.connect();
  c.run();
  EXPECT_TRUE(c.connected());
  EXPECT_EQ(c.replica(1).status().disk, DiskState::UpToDate);
  EXPECT_EQ(c.node(0).disk, c.node(1).disk);
  EXPECT_EQ(c.node(1).disk[0], 1);
  EXPECT_EQ(c.node(1).disk[8192], 0);  // node 1's own change was discarded
}

}  // namespace
}  // namespace tandem
