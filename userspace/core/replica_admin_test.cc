// invalidate, invalidate-remote, outdate, new-current-uuid on the deterministic two-node harness.
#include <gtest/gtest.h>

#include "core/replica.h"
#include "core/testing/two_node_harness.h"

namespace tandem {
namespace {

using testing::AppIo;
using testing::Cluster;
constexpr uint64_t kSize = 4 << 20;

void synced_pair(Cluster& c) {
  c.connect();
  c.run();
  c.replica(0).promote(true);
  c.run();
  ASSERT_EQ(c.replica(1).status().disk, DiskState::UpToDate);
}

// The harness does not reconnect by itself (the daemon's connector does): reconnect after a drop.
void reconnect_if_dropped(Cluster& c) {
  if (!c.connected()) c.connect();
  c.run();
}

TEST(ReplicaAdmin, NewCurrentUuidClearBitmapSkipsTheInitialSync) {
  Cluster c(41, kSize);
  c.node(0).disk[100] = 5;  // the disks differ, but the admin says they are the same: no copy happens
  c.connect();
  c.run();
  EXPECT_EQ(c.replica(0).new_current_uuid(true), "");
  c.run();
  EXPECT_EQ(c.replica(0).status().disk, DiskState::UpToDate);
  EXPECT_EQ(c.replica(1).status().disk, DiskState::UpToDate);
  EXPECT_EQ(c.replica(0).status().ids.current, c.replica(1).status().ids.current);
  EXPECT_EQ(c.replica(0).status().resync_bytes_sent, 0u);
  EXPECT_EQ(c.node(1).disk[100], 0);
  // Not on nodes that already have data.
  EXPECT_NE(c.replica(0).new_current_uuid(true), "");
}

TEST(ReplicaAdmin, InvalidateResyncsEverythingFromThePeer) {
  Cluster c(42, kSize);
  synced_pair(c);
  c.node(1).disk[4096] = 0x77;  // damage behind tandem's back
  EXPECT_NE(c.replica(0).invalidate(), "");  // refused on the Primary
  EXPECT_EQ(c.replica(1).invalidate(), "");
  c.run();
  reconnect_if_dropped(c);
  EXPECT_EQ(c.replica(1).status().disk, DiskState::UpToDate);
  EXPECT_EQ(c.node(0).disk, c.node(1).disk);
}

TEST(ReplicaAdmin, InvalidateRemote) {
  Cluster c(43, kSize);
  synced_pair(c);
  c.node(1).disk[8192] = 0x66;
  EXPECT_NE(c.replica(1).invalidate_remote(), "");  // the peer (node 0) is Primary
  EXPECT_EQ(c.replica(0).invalidate_remote(), "");
  c.run();
  reconnect_if_dropped(c);
  EXPECT_EQ(c.replica(1).status().disk, DiskState::UpToDate);
  EXPECT_EQ(c.node(0).disk, c.node(1).disk);
}

TEST(ReplicaAdmin, OutdateRefusesPromotion) {
  Cluster c(44, kSize);
  synced_pair(c);
  EXPECT_NE(c.replica(0).outdate(), "");  // Primary
  c.disconnect();
  EXPECT_EQ(c.replica(1).outdate(), "");
  EXPECT_EQ(c.replica(1).status().disk, DiskState::Outdated);
  c.replica(1).promote(false);
  EXPECT_EQ(c.node(1).promote_result, 0);
}

TEST(ReplicaAdmin, NewCurrentUuidWhileDisconnectedTracksChanges) {
  Cluster c(45, kSize);
  synced_pair(c);
  ASSERT_EQ(c.replica(0).demote(0), "");
  c.run();
  c.disconnect();
  uint64_t before = c.replica(1).status().ids.current;
  EXPECT_EQ(c.replica(0).new_current_uuid(false), "");
  EXPECT_NE(c.replica(0).status().ids.current, before);
  EXPECT_EQ(c.replica(0).status().ids.bitmap, before);
}

}  // namespace
}  // namespace tandem

namespace tandem {
namespace {

TEST(ReplicaVerify, FindsBlocksCorruptedBehindTheBackAndReconnectRepairsThem) {
  testing::Cluster c(46, kSize);
  synced_pair(c);
  c.node(1).disk[5 * 4096 + 10] ^= 0xFF;
  c.node(1).disk[700 * 4096] ^= 0x01;
  EXPECT_EQ(c.replica(0).start_verify(), "");
  EXPECT_EQ(c.replica(0).status().repl, ReplState::VerifyS);
  // Application writes go on during verify.
  testing::AppIo w(IoOp::Write, 300 * 4096, 4096, 9);
  c.replica(0).app_request(&w.req);
  c.run();
  EXPECT_TRUE(w.done);
  auto st = c.replica(0).status();
  EXPECT_EQ(st.repl, ReplState::Established);
  EXPECT_EQ(c.replica(1).status().repl, ReplState::Established);
  EXPECT_EQ(st.verify_out_of_sync_bytes, 2u * 4096);
  EXPECT_TRUE(c.replica(0).bitmap().test(5));
  EXPECT_TRUE(c.replica(0).bitmap().test(700));
  EXPECT_NE(c.node(0).disk, c.node(1).disk);  // verify only marks
  c.disconnect();
  c.connect();
  c.run();
  EXPECT_EQ(c.node(0).disk, c.node(1).disk);
  EXPECT_EQ(c.replica(0).bitmap().count(), 0u);
}

// Simulator seed 118648: a verify started while the sync source waited for the peer's bitmap, and the bitmap
// resync it was about to start never ran. Verify now waits for the exchange; the resync runs first.
TEST(ReplicaVerify, WaitsForTheBitmapExchangeSoTheResyncIsNotLost) {
  testing::Cluster c(52, kSize);
  synced_pair(c);
  c.disconnect();
  testing::AppIo w(IoOp::Write, 12 * 4096, 4096, 7);
  c.replica(0).app_request(&w.req);
  c.run();
  ASSERT_TRUE(w.done);
  ASSERT_TRUE(c.replica(0).bitmap().test(12));
  c.connect();
  // Only the peer's State reaches node 0: it decides to be the bitmap-based source and waits for the
  // peer's bitmap.
  ASSERT_TRUE(c.deliver_one(1));
  EXPECT_NE(c.replica(0).start_verify().find("bitmap exchange"), std::string::npos);
  c.run();
  EXPECT_EQ(c.node(0).disk, c.node(1).disk);
  EXPECT_EQ(c.replica(0).bitmap().count(), 0u);
  EXPECT_EQ(c.replica(0).start_verify(), "");
  c.run();
  EXPECT_EQ(c.replica(0).status().verify_out_of_sync_bytes, 0u);
}

TEST(ReplicaVerify, WithVerifyAlgSha256) {
  ReplicaConfig cfg{0, 1, 'C', kSize, {}, 0, Fencing::DontCare, {}};
  cfg.verify_alg = DigestAlg::Sha256;
  testing::Cluster c(51, cfg);
  synced_pair(c);
  c.node(1).disk[9 * 4096 + 1] ^= 0x10;
  EXPECT_EQ(c.replica(0).start_verify(), "");
  c.run();
  EXPECT_EQ(c.replica(0).status().verify_out_of_sync_bytes, 4096u);
  EXPECT_TRUE(c.replica(0).bitmap().test(9));
}

TEST(ReplicaCsums, OnlyBlocksWhoseDigestsDifferAreSent) {
  for (DigestAlg alg : {DigestAlg::Crc32c, DigestAlg::Md5, DigestAlg::Sha1, DigestAlg::Sha256}) {
    ReplicaConfig cfg{0, 1, 'C', kSize, {}, 0, Fencing::DontCare, {}};
    cfg.csums_alg = alg;
    testing::Cluster c(52, cfg);
    // Identical disks except three blocks (two adjacent): a forced promotion starts a full resync.
    for (uint64_t b : {3, 4, 900}) c.node(0).disk[b * 4096 + 7] = 0xAB;
    c.connect();
    c.run();
    c.replica(0).promote(true);
    // Application writes during the resync stay correct.
    testing::AppIo w(IoOp::Write, 4 * 4096, 8192, 0x5C);
    c.replica(0).app_request(&w.req);
    c.run();
    ASSERT_TRUE(w.done);
    ASSERT_EQ(c.replica(1).status().disk, DiskState::UpToDate) << digest_alg_name(alg);
    EXPECT_EQ(c.node(0).disk, c.node(1).disk) << digest_alg_name(alg);
    auto st = c.replica(0).status();
    // At most the three differing blocks travel as resync data (the write may have made some equal).
    EXPECT_LE(st.resync_bytes_sent, 3u * 4096) << digest_alg_name(alg);
    EXPECT_GE(st.resync_csum_equal_bytes, kSize - 3 * 4096 - 8192) << digest_alg_name(alg);
  }
}

TEST(ReplicaCsums, AfterCrashOnlySkipsChecksumsForAnOrdinaryResync) {
  ReplicaConfig cfg{0, 1, 'C', kSize, {}, 0, Fencing::DontCare, {}};
  cfg.csums_alg = DigestAlg::Md5;
  cfg.csums_after_crash_only = true;
  testing::Cluster c(53, cfg);
  c.connect();
  c.run();
  c.replica(0).promote(true);
  c.run();
  EXPECT_EQ(c.replica(0).status().resync_csum_equal_bytes, 0u);
  EXPECT_EQ(c.replica(0).status().resync_bytes_sent, kSize);
}

TEST(ReplicaVerify, FromTheSecondaryToo) {
  testing::Cluster c(47, kSize);
  synced_pair(c);
  c.node(0).disk[17 * 4096] ^= 0xFF;  // here the Primary's copy is the damaged one; verify from the Secondary
  EXPECT_EQ(c.replica(1).start_verify(), "");
  c.run();
  EXPECT_EQ(c.replica(1).status().verify_out_of_sync_bytes, 4096u);
  EXPECT_EQ(c.replica(1).start_verify(), "");  // can run again once done
  c.run();
  EXPECT_EQ(c.replica(1).status().repl, ReplState::Established);
}

}  // namespace
}  // namespace tandem

namespace tandem {
namespace {

TEST(ReplicaResyncControl, PauseAndResume) {
  constexpr uint64_t kBig = 32 << 20;  // larger than one window of resync chunks
  testing::Cluster c(48, kBig);
  c.connect();
  c.run();
  c.replica(0).promote(true);  // asks the peer, then starts a full resync of 4 MiB
  for (int i = 0; i < 1000 && c.replica(0).status().repl != ReplState::SyncSource; i++) c.step();
  ASSERT_EQ(c.replica(0).status().repl, ReplState::SyncSource);
  EXPECT_EQ(c.replica(0).pause_sync(), "");
  EXPECT_NE(c.replica(1).pause_sync(), "");  // not the source
  c.run();
  EXPECT_TRUE(c.replica(0).status().resync_paused);
  EXPECT_TRUE(c.replica(1).status().resync_paused);  // PausedSyncT on the target
  EXPECT_EQ(c.replica(0).status().repl, ReplState::SyncSource);
  EXPECT_LT(c.replica(0).status().resync_done_bytes, kBig);
  EXPECT_EQ(c.replica(0).resume_sync(), "");
  c.run();
  EXPECT_EQ(c.replica(1).status().disk, DiskState::UpToDate);
  EXPECT_EQ(c.node(0).disk, c.node(1).disk);
}

TEST(ReplicaResyncControl, FixedRateIsPacedByTicks) {
  // 1 MiB/s: a 4 MiB resync must not finish before ~3 s of ticks, and must finish within ~5 s.
  testing::Cluster c(49, kSize, 'C', {}, 1 << 20);
  c.connect();
  c.run();
  c.replica(0).promote(true);
  c.run();
  uint64_t ms = 1000;
  c.replica(0).tick(ms);
  int ticks = 0;
  while (c.replica(1).status().disk != DiskState::UpToDate && ticks < 100) {
    ms += 100;
    ticks++;
    c.replica(0).tick(ms);
    c.run();
  }
  EXPECT_GE(ticks, 30);
  EXPECT_LE(ticks, 50);
  EXPECT_EQ(c.node(0).disk, c.node(1).disk);
}

TEST(ReplicaResyncControl, TheDynamicControllerRampsUpToCMaxRate) {
  // c-max-rate 2 MiB/s: a 4 MiB resync takes at least ~2 s of ticks; the controller starts slow (twice
  // resync-rate, 250 KiB/s) and must still finish well within 10 s.
  ReplicaConfig cfg{0, 1, 'C', kSize, {}, 0, Fencing::DontCare, {}};
  cfg.dynamic_resync.dynamic = true;
  cfg.dynamic_resync.fixed_rate_bytes_per_s = 250 << 10;
  cfg.dynamic_resync.max_rate_bytes_per_s = 2 << 20;
  testing::Cluster c(50, cfg);
  c.connect();
  c.run();
  c.replica(0).promote(true);
  c.run();
  EXPECT_EQ(c.replica(0).status().resync_done_bytes, 0u);  // nothing before the first step's budget
  uint64_t ms = 1000;
  int ticks = 0;
  while (c.replica(1).status().disk != DiskState::UpToDate && ticks < 200) {
    ms += 100;
    ticks++;
    c.replica(0).tick(ms);
    c.run();
    // Never more than the ceiling allows (plus one chunk started on credit).
    EXPECT_LE(c.replica(0).status().resync_done_bytes,
              static_cast<uint64_t>(ticks) * (2u << 20) / 10 + Replica::kResyncChunkBytes);
  }
  EXPECT_GE(ticks, 19);
  EXPECT_LE(ticks, 100);
  EXPECT_EQ(c.node(0).disk, c.node(1).disk);
}

}  // namespace
}  // namespace tandem

namespace tandem {
namespace {

TEST(ReplicaProtocolA, BacklogHoldsNewWritesUntilTheQueueDrains) {
  constexpr uint64_t kBig = 96ull << 20;
  testing::Cluster c(50, kBig, 'A');
  c.connect();
  c.run();
  c.replica(0).promote(true);
  c.run();
  std::vector<std::unique_ptr<testing::AppIo>> ios;
  for (int i = 0; i < 80; i++) {
    ios.push_back(std::make_unique<testing::AppIo>(IoOp::Write, uint64_t(i) << 20, 1u << 20, uint8_t(i + 1)));
    c.replica(0).app_request(&ios.back()->req);
  }
  // Only the Primary's disk runs; nothing is delivered to the peer.
  while (!c.node(0).pending_io.empty()) c.node(0).run_io(0);
  int done = 0;
  for (auto& io : ios) done += io->done;
  EXPECT_GE(done, 60);
  EXPECT_LT(done, 80);  // held back by the 64 MiB backlog
  EXPECT_LE(c.node(0).send_backlog_bytes(), Replica::kMaxSendBacklogBytes + (2u << 20));
  // The link drains: the rest go through.
  while (c.deliver_one(0) || c.deliver_one(1)) {
  }
  c.replica(0).send_queue_drained();
  c.run();
  for (auto& io : ios) EXPECT_TRUE(io->done);
  EXPECT_EQ(c.node(0).disk, c.node(1).disk);
}


// adjust: the settings both peers agree on at the handshake change only while disconnected; a peer still on the
// old protocol refuses the connection (StandAlone, as DRBD) until it is adjusted too.
TEST(ReplicaAdjust, TheProtocolChangesOnlyWhileDisconnected) {
  Cluster c(44, kSize);
  synced_pair(c);
  ReplicaConfig a0{0, 1, 'A', kSize, {}, 0, Fencing::DontCare, {}};
  ReplicaConfig a1{1, 0, 'A', kSize, {}, 0, Fencing::DontCare, {}};
  EXPECT_NE(c.replica(0).reconfigure(a0), "");  // connected: refused, nothing changed
  c.disconnect();
  EXPECT_EQ(c.replica(0).reconfigure(a0), "");
  c.connect();
  c.run();
  EXPECT_FALSE(c.connected());  // node 1 still runs protocol C
  EXPECT_NE(c.replica(0).status().last_decision.find("protocol"), std::string::npos)
      << c.replica(0).status().last_decision << " / " << c.replica(1).status().last_decision;
  EXPECT_EQ(c.replica(1).reconfigure(a1), "");
  c.connect();
  c.run();
  ASSERT_TRUE(c.connected());
  EXPECT_EQ(c.replica(1).status().repl, ReplState::Established);
  testing::AppIo w(IoOp::Write, 3 * 4096, 4096, 0x3A);
  c.replica(0).app_request(&w.req);
  c.run();
  EXPECT_TRUE(w.done);
  EXPECT_EQ(c.node(0).disk, c.node(1).disk);
}

TEST(ReplicaAdjust, ResyncRateAndPoliciesChangeWhileConnected) {
  Cluster c(45, kSize);
  synced_pair(c);
  ReplicaConfig next{0, 1, 'C', kSize, {}, 10 << 20, Fencing::DontCare, {}};
  next.split_brain.pri0 = AfterSb0::DiscardZeroChanges;
  EXPECT_EQ(c.replica(0).reconfigure(next), "");
  EXPECT_EQ(c.replica(0).status().repl, ReplState::Established);
  next.verify_alg = DigestAlg::Sha1;
  EXPECT_NE(c.replica(0).reconfigure(next), "");  // agreed at the handshake: not while connected
}

// Simulator seed 117856: a resync waiting for its rate limiter's tokens (which only tick() brings) must go on
// when adjust lifts the limit, although nothing is in flight to wake it.
TEST(ReplicaAdjust, LiftingTheResyncRateResumesAWaitingResync) {
  Cluster c(46, kSize, 'C', {}, 1 << 20);  // 1 MiB/s; the harness never ticks: the resync waits for tokens
  c.connect();
  c.run();
  c.replica(0).promote(true);
  c.run();
  ASSERT_EQ(c.replica(0).status().repl, ReplState::SyncSource);
  ASSERT_EQ(c.replica(1).status().disk, DiskState::Inconsistent);
  ReplicaConfig unlimited{0, 1, 'C', kSize, {}, 0, Fencing::DontCare, {}};
  EXPECT_EQ(c.replica(0).reconfigure(unlimited), "");
  c.run();
  EXPECT_EQ(c.replica(1).status().disk, DiskState::UpToDate);
  EXPECT_EQ(c.node(0).disk, c.node(1).disk);
}

// suspend-io holds new writes (in order) until resume-io; a write already in flight completes.
TEST(ReplicaAdmin, SuspendIoHoldsNewWritesUntilResumeIo) {
  Cluster c(47, kSize);
  synced_pair(c);
  testing::AppIo in_flight(IoOp::Write, 1 * 4096, 4096, 0x11);
  c.replica(0).app_request(&in_flight.req);
  EXPECT_EQ(c.replica(0).suspend_io(), "");
  EXPECT_NE(c.replica(0).suspend_io(), "");  // already suspended
  testing::AppIo held(IoOp::Write, 2 * 4096, 4096, 0x22);
  testing::AppIo flush(IoOp::Flush, 0, 0);
  c.replica(0).app_request(&held.req);
  c.replica(0).app_request(&flush.req);
  c.run();
  EXPECT_TRUE(in_flight.done);
  EXPECT_FALSE(held.done);
  EXPECT_FALSE(flush.done);
  EXPECT_TRUE(c.replica(0).status().suspended_user);
  EXPECT_EQ(c.node(1).disk[2 * 4096], 0);  // not written anywhere yet
  EXPECT_EQ(c.replica(0).resume_io(), "");
  c.run();
  EXPECT_TRUE(held.done);
  EXPECT_TRUE(flush.done);
  EXPECT_FALSE(c.replica(0).status().suspended_user);
  EXPECT_EQ(c.node(0).disk, c.node(1).disk);
  EXPECT_NE(c.replica(0).resume_io(), "");  // nothing is suspended
}

}  // namespace
}  // namespace tandem
