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

TEST(SplitBrainPolicy, DiscardYoungerAndOlderPrimary) {
  SplitBrainPolicy p;
  p.pri0 = AfterSb0::DiscardYoungerPrimary;
  // Node 0 was Primary before the split (older); node 1 became Primary while apart (younger).
  SplitBrainSide older{0, Role::Secondary, 4096, true}, younger{1, Role::Secondary, 8192, false};
  EXPECT_EQ(victim(p, older, younger), Victim::Peer);
  p.pri0 = AfterSb0::DiscardOlderPrimary;
  EXPECT_EQ(victim(p, older, younger), Victim::Local);
  // No younger/older distinction: discard-least-changes decides.
  p.pri0 = AfterSb0::DiscardYoungerPrimary;
  SplitBrainSide a{0, Role::Secondary, 4096, false}, b{1, Role::Secondary, 8192, false};
  EXPECT_EQ(victim(p, a, b), Victim::Local);
  EXPECT_NE(resolve_split_brain(p, a, b).why.find("discard-least-changes"), std::string::npos);
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

// End to end: node 0 keeps writing as Primary after the split, node 1 is promoted while apart and writes too;
// with discard-younger-primary node 1's changes are discarded, with discard-older-primary node 0's.
TEST(SplitBrainRecovery, DiscardYoungerOrOlderPrimary) {
  for (AfterSb0 policy : {AfterSb0::DiscardYoungerPrimary, AfterSb0::DiscardOlderPrimary}) {
    SplitBrainPolicy p;
    p.pri0 = policy;
    testing::Cluster c(33, 8 << 20, 'C', p);
    c.connect();
    c.run();
    c.replica(0).promote(true);
    c.run();
    c.disconnect();
    c.replica(1).promote(true);
    testing::AppIo w0(IoOp::Write, 0, 4096, 1), w1(IoOp::Write, 8192, 4096, 2);
    c.replica(0).app_request(&w0.req);
    c.replica(1).app_request(&w1.req);
    c.run();
    EXPECT_TRUE(c.replica(0).persistent().primary_at_split);
    EXPECT_FALSE(c.replica(1).persistent().primary_at_split);
    ASSERT_EQ(c.replica(0).demote(0), "");
    ASSERT_EQ(c.replica(1).demote(0), "");
    c.connect();
    c.run();
    ASSERT_TRUE(c.connected());
    EXPECT_EQ(c.node(0).disk, c.node(1).disk);
    bool younger_lost = policy == AfterSb0::DiscardYoungerPrimary;
    EXPECT_EQ(c.node(0).disk[0], younger_lost ? 1 : 0);
    EXPECT_EQ(c.node(0).disk[8192], younger_lost ? 0 : 2);
  }
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
