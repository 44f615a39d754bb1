#include "core/generation.h"

#include <gtest/gtest.h>

#include "core/attach.h"

namespace tandem {
namespace {

NodeView node(uint32_t id, uint64_t current, uint64_t bitmap, DiskState disk) {
  NodeView v;
  v.node_id = id;
  v.ids.current = current;
  v.ids.bitmap = bitmap;
  v.disk = disk;
  return v;
}

SyncDecision decide(const NodeView& a, const NodeView& b) {
  std::string why;
  return decide_sync(a, b, &why);
}

// Every decision must be the mirror image of the peer's.
void expect_mirrored(const NodeView& a, const NodeView& b, SyncDecision expected_for_a) {
  SyncDecision da = decide(a, b), db = decide(b, a);
  EXPECT_EQ(da, expected_for_a) << to_string(da);
  if (is_source(da)) {
    EXPECT_TRUE(is_target(db)) << to_string(db);
  }
  if (is_target(da)) {
    EXPECT_TRUE(is_source(db)) << to_string(db);
  }
  if (!is_source(da) && !is_target(da)) {
    EXPECT_EQ(da, db);
  }
}

TEST(Generation, FreshNodesWait) {
  expect_mirrored(node(0, kUuidJustCreated, 0, DiskState::Inconsistent),
                  node(1, kUuidJustCreated, 0, DiskState::Inconsistent), SyncDecision::None);
}

TEST(Generation, UsableDataSyncsToInconsistentPeerInFull) {
  expect_mirrored(node(0, 0x100, 0, DiskState::UpToDate), node(1, kUuidJustCreated, 0, DiskState::Inconsistent),
                  SyncDecision::SourceFull);
}

TEST(Generation, BitmapSyncWhenTargetHoldsTheTrackedGeneration) {
  expect_mirrored(node(0, 0x200, 0x100, DiskState::UpToDate), node(1, 0x100, 0, DiskState::Outdated),
                  SyncDecision::SourceBitmap);
}

TEST(Generation, SameGenerationNoSync) {
  expect_mirrored(node(0, 0x100, 0, DiskState::Consistent), node(1, 0x100, 0, DiskState::Consistent),
                  SyncDecision::None);
}

TEST(Generation, CrashedSecondaryGetsAFullSync) {
  NodeView crashed = node(1, 0x100, 0, DiskState::Consistent);
  crashed.needs_full_sync = true;
  expect_mirrored(node(0, 0x100, 0, DiskState::UpToDate), crashed, SyncDecision::SourceFull);
  NodeView outdated = node(1, 0x100, 0, DiskState::Outdated);
  outdated.needs_full_sync = true;
  expect_mirrored(node(0, 0x200, 0x100, DiskState::UpToDate), outdated, SyncDecision::SourceFull);
}

TEST(Generation, CrashedPrimaryIsSource) {
  NodeView crashed = node(1, 0x100, 0, DiskState::Consistent);
  crashed.crashed_primary = true;
  expect_mirrored(node(0, 0x100, 0, DiskState::Consistent), crashed, SyncDecision::TargetBitmap);
}

TEST(Generation, BothWroteWhileApartIsSplitBrain) {
  expect_mirrored(node(0, 0x200, 0x100, DiskState::UpToDate), node(1, 0x300, 0x100, DiskState::UpToDate),
                  SyncDecision::SplitBrain);
}

TEST(Generation, AncestorInHistoryMeansFullSync) {
  NodeView newer = node(0, 0x300, 0, DiskState::UpToDate);
  newer.ids.history[0] = 0x200;
  expect_mirrored(newer, node(1, 0x200, 0, DiskState::Outdated), SyncDecision::SourceFull);
}

TEST(Generation, UnrelatedData) {
  expect_mirrored(node(0, 0x200, 0, DiskState::UpToDate), node(1, 0x300, 0, DiskState::UpToDate),
                  SyncDecision::Unrelated);
}

TEST(Generation, NewGenerationKeepsTheFirstBitmapUuid) {
  GenerationIds g;
  g.current = 0x100;
  g.start_new_generation(0x200);
  EXPECT_EQ(g.bitmap, 0x100u);
  g.start_new_generation(0x300);
  EXPECT_EQ(g.bitmap, 0x100u);
  EXPECT_TRUE(g.in_history(0x200));
  g.forget_bitmap();
  EXPECT_EQ(g.bitmap, 0u);
  EXPECT_TRUE(g.in_history(0x100));
}

TEST(Attach, UncleanStops) {
  PersistentState s;
  s.primary = true;
  s.ids.bitmap = 0;
  AttachPlan p = plan_attach(s, false);
  EXPECT_TRUE(p.state.crashed_primary);
  EXPECT_TRUE(p.mark_all_out_of_sync);
  PersistentState sec;
  AttachPlan q = plan_attach(sec, false);
  EXPECT_TRUE(q.state.needs_full_sync);
  EXPECT_FALSE(q.mark_all_out_of_sync);
  AttachPlan clean = plan_attach(s, true);
  EXPECT_FALSE(clean.state.crashed_primary);
  EXPECT_FALSE(clean.mark_all_out_of_sync);
}

TEST(Attach, ActivityLogBoundsTheCrash) {
  PersistentState s;
  s.primary = true;
  s.ids.bitmap = 0x55;
  AlOnDisk al;
  al.kept = true;
  al.ring.ok = true;
  al.ring.extents = {3, 9};
  al.ring.last_seq = 12;
  AttachPlan p = plan_attach(s, false, al);
  EXPECT_TRUE(p.state.crashed_primary);
  EXPECT_FALSE(p.mark_all_out_of_sync);
  EXPECT_EQ(p.mark_extents, (std::vector<uint32_t>{3, 9}));
  // A damaged ring cannot be trusted: back to everything.
  al.ring.ok = false;
  al.ring.problem = "slot 2: checksum mismatch";
  AttachPlan q = plan_attach(s, false, al);
  EXPECT_TRUE(q.mark_all_out_of_sync);
  EXPECT_NE(q.note.find("checksum mismatch"), std::string::npos);
  // A previous run without the AL: its ring means nothing.
  al.kept = false;
  al.ring.ok = true;
  EXPECT_TRUE(plan_attach(s, false, al).mark_all_out_of_sync);
  // Clean stop: nothing to mark.
  al.kept = true;
  AttachPlan c = plan_attach(s, true, al);
  EXPECT_FALSE(c.mark_all_out_of_sync);
  EXPECT_TRUE(c.mark_extents.empty());
}

}  // namespace
}  // namespace tandem
