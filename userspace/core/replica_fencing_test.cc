// Resource-level fencing (net { fencing ...; }) and the handlers around it, on the two-node harness.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/replica.h"
#include "core/testing/two_node_harness.h"

namespace tandem {
namespace {

using testing::AppIo;
using testing::Cluster;
constexpr uint64_t kSize = 4 << 20;

bool ran(const testing::SimNode& n, std::string_view handler) {
  return std::find(n.handlers.begin(), n.handlers.end(), handler) != n.handlers.end();
}

Cluster fenced_pair(Fencing f, uint64_t seed = 7) {
  Cluster c(seed, kSize, 'C', {}, 0, f);
  c.connect();
  c.run();
  c.replica(0).promote(true);
  c.run();
  return c;
}

TEST(ReplicaFencing, WithoutFencingTheSecondaryOutdatesItselfOnLinkLoss) {
  Cluster c = fenced_pair(Fencing::DontCare);
  c.disconnect();
  EXPECT_EQ(c.replica(1).disk(), DiskState::Outdated);
  EXPECT_EQ(c.node(0).fence_calls, 0);
}

TEST(ReplicaFencing, ResourceOnlyKeepsTheSecondaryUpToDateAndFencesFromThePrimary) {
  Cluster c = fenced_pair(Fencing::ResourceOnly);
  c.disconnect();
  EXPECT_EQ(c.replica(1).disk(), DiskState::UpToDate);
  EXPECT_EQ(c.node(0).fence_calls, 1);
  EXPECT_TRUE(c.replica(0).status().fencing_in_progress);
  // Writes go on while the handler runs (resource-only does not freeze).
  AppIo w(IoOp::Write, 0, 4096, 0x11);
  c.replica(0).app_request(&w.req);
  c.run();
  EXPECT_TRUE(w.done);
  c.replica(0).fence_peer_done(4);
  EXPECT_TRUE(c.replica(0).persistent().peer_outdated);
  EXPECT_FALSE(c.replica(0).status().fencing_in_progress);
  // Fenced once: a second link loss later does not call the handler again until the peer is back.
}

TEST(ReplicaFencing, ResourceAndStonithFreezesWritesUntilThePeerIsFenced) {
  Cluster c = fenced_pair(Fencing::ResourceAndStonith);
  AppIo inflight(IoOp::Write, 8192, 4096, 0x22);
  c.replica(0).app_request(&inflight.req);
  // Let the local write finish but cut the link before the peer's ack arrives.
  while (!c.node(0).pending_io.empty()) c.node(0).run_io(0);
  c.disconnect();
  EXPECT_TRUE(c.replica(0).status().suspended_fencing);
  EXPECT_FALSE(inflight.done);  // not acknowledged: the peer may not have it, and may be promoted
  AppIo later(IoOp::Write, 0, 4096, 0x33);
  c.replica(0).app_request(&later.req);
  c.run();
  EXPECT_FALSE(later.done);
  // A failing handler keeps them frozen; an explicit resume-io releases them.
  c.replica(0).fence_peer_done(1);
  c.run();
  EXPECT_FALSE(inflight.done);
  EXPECT_TRUE(c.replica(0).status().suspended_fencing);
  EXPECT_EQ(c.replica(0).resume_io(), "");
  c.run();
  EXPECT_TRUE(inflight.done);
  EXPECT_TRUE(later.done);
  EXPECT_EQ(c.replica(0).resume_io(), "application I/O is not suspended");
}

TEST(ReplicaFencing, ResourceAndStonithResumesWhenTheHandlerFencedThePeer) {
  Cluster c = fenced_pair(Fencing::ResourceAndStonith);
  AppIo inflight(IoOp::Write, 8192, 4096, 0x22);
  c.replica(0).app_request(&inflight.req);
  while (!c.node(0).pending_io.empty()) c.node(0).run_io(0);
  c.disconnect();
  EXPECT_FALSE(inflight.done);
  c.replica(0).fence_peer_done(7);
  c.run();
  EXPECT_TRUE(inflight.done);
  EXPECT_EQ(inflight.result, 0);
  EXPECT_FALSE(c.replica(0).status().suspended_fencing);
}

TEST(ReplicaFencing, TheSurvivorOfACrashedPrimaryFencesThenPromotes) {
  Cluster c = fenced_pair(Fencing::ResourceOnly);
  c.disconnect();  // the Primary "crashes": it never answers again
  c.replica(1).promote(false);
  EXPECT_EQ(c.node(1).fence_calls, 1);
  EXPECT_EQ(c.node(1).promote_result, -1);  // waits for the handler
  c.replica(1).fence_peer_done(4);
  EXPECT_EQ(c.node(1).promote_result, 1);
  EXPECT_EQ(c.replica(1).role(), Role::Primary);
}

TEST(ReplicaFencing, PromotionIsRefusedWhenFencingFails) {
  for (int code : {1, 6, -110}) {
    Cluster c = fenced_pair(Fencing::ResourceOnly);
    c.disconnect();
    c.replica(1).promote(false);
    c.replica(1).fence_peer_done(code);
    EXPECT_EQ(c.node(1).promote_result, 0) << code;
    EXPECT_EQ(c.replica(1).role(), Role::Secondary) << code;
    EXPECT_NE(c.node(1).promote_message.find("fence-peer"), std::string::npos) << c.node(1).promote_message;
  }
}

TEST(ReplicaFencing, ForcedPromotionSkipsFencing) {
  Cluster c = fenced_pair(Fencing::ResourceOnly);
  c.disconnect();
  c.replica(1).promote(true);
  EXPECT_EQ(c.node(1).fence_calls, 0);
  EXPECT_EQ(c.replica(1).role(), Role::Primary);
}

TEST(ReplicaFencing, ResyncRunsTheTargetHandlersAndUnfencesThePeer) {
  Cluster c = fenced_pair(Fencing::ResourceOnly);
  c.disconnect();
  c.replica(0).fence_peer_done(4);
  AppIo w(IoOp::Write, 0, 4096, 0x44);
  c.replica(0).app_request(&w.req);
  c.run();
  ASSERT_TRUE(w.done);
  c.connect();
  c.run();
  EXPECT_EQ(c.replica(1).disk(), DiskState::UpToDate);
  EXPECT_TRUE(ran(c.node(1), "before-resync-target"));
  EXPECT_TRUE(ran(c.node(1), "after-resync-target"));
  EXPECT_TRUE(ran(c.node(0), "unfence-peer"));
  EXPECT_FALSE(c.replica(0).persistent().peer_outdated);
  EXPECT_EQ(c.node(1).disk[0], 0x44);
}

TEST(ReplicaFencing, AReconnectWhileTheHandlerRunsMakesItsResultMoot) {
  Cluster c = fenced_pair(Fencing::ResourceAndStonith);
  c.disconnect();
  EXPECT_TRUE(c.replica(0).status().suspended_fencing);
  c.connect();
  c.run();
  c.replica(0).fence_peer_done(1);
  EXPECT_FALSE(c.replica(0).status().suspended_fencing);
  EXPECT_FALSE(c.replica(0).persistent().peer_outdated);
}

}  // namespace
}  // namespace tandem

namespace tandem {
namespace {

TEST(ReplicaFencing, APromotionAskedWhileConnectedFencesIfThePeerVanishesBeforeAnswering) {
  Cluster c(9, kSize, 'C', {}, 0, Fencing::ResourceOnly);
  c.connect();
  c.run();
  c.replica(0).promote(true);
  c.run();
  ASSERT_EQ(c.replica(0).demote(0), "");
  c.run();
  c.replica(1).promote(false);  // asks node 0, which never answers: the link dies first
  c.disconnect();
  EXPECT_EQ(c.node(1).fence_calls, 1);
  EXPECT_EQ(c.replica(1).role(), Role::Secondary);
  c.replica(1).fence_peer_done(5);
  EXPECT_EQ(c.replica(1).role(), Role::Primary);
}

}  // namespace
}  // namespace tandem

namespace tandem {
namespace {

TEST(ReplicaFencing, AFrozenPrimaryStartsNoGenerationUntilItWritesAlone) {
  Cluster c = fenced_pair(Fencing::ResourceAndStonith);
  uint64_t before = c.replica(0).status().ids.current;
  c.disconnect();
  EXPECT_EQ(c.replica(0).status().ids.current, before);  // frozen: nothing written without the peer yet
  c.replica(0).fence_peer_done(4);
  EXPECT_NE(c.replica(0).status().ids.current, before);
  EXPECT_EQ(c.replica(0).status().ids.bitmap, before);
}

TEST(ReplicaFencing, AFrozenPrimaryThatIsReplacedIsNoSplitBrain) {
  Cluster c = fenced_pair(Fencing::ResourceAndStonith);
  c.disconnect();              // node 0 isolated: frozen, its fence-peer never succeeds
  c.replica(1).promote(false);  // node 1 fences node 0 through the cluster and takes over
  c.replica(1).fence_peer_done(5);
  ASSERT_EQ(c.replica(1).role(), Role::Primary);
  AppIo w(IoOp::Write, 4096, 4096, 0x55);
  c.replica(1).app_request(&w.req);
  c.run();
  ASSERT_TRUE(w.done);
  // Node 0 stays frozen (its fence-peer fails) until it is power-cycled. It started no generation of its
  // own, so at its restart the generation rules see node 1's as the newer one, not a split brain.
  c.replica(0).fence_peer_done(1);
  ASSERT_TRUE(c.replica(0).status().suspended_fencing);
  EXPECT_EQ(c.replica(0).status().ids.current, c.replica(1).status().ids.bitmap);
}

}  // namespace
}  // namespace tandem
