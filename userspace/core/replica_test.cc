// Scenario tests of the replication core on the deterministic two-node harness.
#include "core/replica.h"

#include <gtest/gtest.h>

#include "core/testing/two_node_harness.h"

namespace tandem {
namespace {

using testing::AppIo;
using testing::Cluster;

constexpr uint64_t kSize = 8 << 20;

// Both nodes fresh, connected, A forced to Primary and the initial full sync done.
void initial_setup(Cluster& c) {
  c.connect();
  c.run();
  c.replica(0).promote(true);
  c.run();
  ASSERT_EQ(c.node(0).promote_result, 1) << c.node(0).promote_message;
}

void write(Cluster& c, int node, uint64_t off, uint32_t len, uint8_t fill, bool run = true) {
  AppIo io(IoOp::Write, off, len, fill);
  c.replica(node).app_request(&io.req);
  if (run) {
    c.run();
    ASSERT_TRUE(io.done);
    ASSERT_EQ(io.result, 0);
  }
}

TEST(Replica, FreshNodesConnectWithoutSync) {
  Cluster c(1, kSize);
  c.connect();
  c.run();
  for (int i = 0; i < 2; i++) {
    auto s = c.replica(i).status();
    EXPECT_EQ(s.conn, ConnState::Connected);
    EXPECT_EQ(s.repl, ReplState::Established);
    EXPECT_EQ(s.disk, DiskState::Inconsistent);
  }
}

TEST(Replica, PromotionRefusedWithoutUpToDateData) {
  Cluster c(2, kSize);
  c.connect();
  c.run();
  c.replica(0).promote(false);
  c.run();
  EXPECT_EQ(c.node(0).promote_result, 0);
  EXPECT_NE(c.node(0).promote_message.find("Inconsistent"), std::string::npos) << c.node(0).promote_message;
}

TEST(Replica, ForcedPromotionFullSyncsThePeer) {
  Cluster c(3, kSize);
  for (size_t i = 0; i < kSize; i += 4096) c.node(0).disk[i] = uint8_t(i / 4096);
  initial_setup(c);
  EXPECT_EQ(c.replica(0).status().disk, DiskState::UpToDate);
  EXPECT_EQ(c.replica(1).status().disk, DiskState::UpToDate);
  EXPECT_EQ(c.replica(1).status().repl, ReplState::Established);
  EXPECT_EQ(c.node(0).disk, c.node(1).disk);
  EXPECT_EQ(c.replica(0).status().ids.current, c.replica(1).status().ids.current);
  EXPECT_EQ(c.replica(0).bitmap().count(), 0u);
}

TEST(Replica, ProtocolCCompletesOnlyAfterBothDisks) {
  Cluster c(4, kSize);
  initial_setup(c);
  AppIo io(IoOp::Write, 4096, 8192, 0x5A);
  c.replica(0).app_request(&io.req);
  // Run only the Primary's local write: not yet acknowledged.
  ASSERT_EQ(c.node(0).pending_io.size(), 1u);
  c.node(0).run_io(0);
  EXPECT_FALSE(io.done);
  c.run();
  ASSERT_TRUE(io.done);
  EXPECT_EQ(io.result, 0);
  EXPECT_EQ(c.node(1).disk[4096], 0x5A);
  EXPECT_EQ(c.node(1).disk[4096 + 8191], 0x5A);
}

TEST(Replica, ProtocolACompletesAfterLocalWrite) {
  Cluster c(5, kSize, 'A');
  initial_setup(c);
  AppIo io(IoOp::Write, 0, 4096, 1);
  c.replica(0).app_request(&io.req);
  c.node(0).run_io(0);
  EXPECT_TRUE(io.done);
  c.run();
  EXPECT_EQ(c.node(1).disk[0], 1);
}

TEST(Replica, SecondaryRefusesWritesAndPromotionWhilePeerPrimary) {
  Cluster c(6, kSize);
  initial_setup(c);
  AppIo io(IoOp::Write, 0, 4096, 1);
  c.replica(1).app_request(&io.req);
  EXPECT_TRUE(io.done);
  EXPECT_EQ(io.result, -EROFS);
  c.replica(1).promote(false);
  c.run();
  EXPECT_EQ(c.node(1).promote_result, 0);
  EXPECT_NE(c.node(1).promote_message.find("Primary"), std::string::npos);
}

TEST(Replica, RoleSwitch) {
  Cluster c(7, kSize);
  initial_setup(c);
  write(c, 0, 0, 4096, 7);
  EXPECT_EQ(c.replica(0).demote(1), std::string("the device is held open (1 opener); unmount or close it first"));
  EXPECT_EQ(c.replica(0).demote(0), "");
  c.run();
  c.replica(1).promote(false);
  c.run();
  ASSERT_EQ(c.node(1).promote_result, 1) << c.node(1).promote_message;
  write(c, 1, 8192, 4096, 9);
  EXPECT_EQ(c.node(0).disk[8192], 9);
  EXPECT_EQ(c.node(0).disk, c.node(1).disk);
}

TEST(Replica, LinkCutThenBitmapResyncCopiesOnlyChangedBlocks) {
  Cluster c(8, kSize);
  initial_setup(c);
  c.disconnect();
  EXPECT_EQ(c.replica(1).status().disk, DiskState::Outdated);
  EXPECT_EQ(c.replica(0).status().disk, DiskState::UpToDate);
  write(c, 0, 0, 4096, 1);
  write(c, 0, 1 << 20, 3 * 4096, 2);
  EXPECT_EQ(c.replica(0).bitmap().count(), 4u);
  uint64_t sent_before = c.replica(0).status().resync_bytes_sent;
  c.connect();
  c.run();
  EXPECT_EQ(c.replica(0).status().resync_bytes_sent - sent_before, 4u * 4096);
  EXPECT_EQ(c.replica(1).status().disk, DiskState::UpToDate);
  EXPECT_EQ(c.node(0).disk, c.node(1).disk);
  EXPECT_EQ(c.replica(0).bitmap().count(), 0u);
}

TEST(Replica, WritesDuringResyncStayCorrect) {
  for (uint64_t seed = 1; seed <= 30; seed++) {
    Cluster c(100 + seed, kSize);
    initial_setup(c);
    c.disconnect();
    for (int i = 0; i < 40; i++) write(c, 0, (c.random() % (kSize / 4096)) * 4096, 4096, uint8_t(i + 1));
    c.connect();
    // Interleave application writes with the resync.
    std::vector<std::unique_ptr<AppIo>> ios;
    for (int i = 0; i < 30; i++) {
      uint64_t block = c.random() % (kSize / 4096);
      ios.push_back(std::make_unique<AppIo>(IoOp::Write, block * 4096, 4096, uint8_t(100 + i)));
      c.replica(0).app_request(&ios.back()->req);
      for (int s = 0; s < 5; s++) c.step();
    }
    c.run();
    for (auto& io : ios) ASSERT_TRUE(io->done);
    ASSERT_EQ(c.replica(1).status().disk, DiskState::UpToDate) << "seed " << seed;
    ASSERT_EQ(c.node(0).disk, c.node(1).disk) << "seed " << seed;
  }
}

TEST(Replica, OverlappingWritesKeepTheirOrderOnBothNodes) {
  for (uint64_t seed = 1; seed <= 30; seed++) {
    Cluster c(200 + seed, kSize);
    initial_setup(c);
    std::vector<std::unique_ptr<AppIo>> ios;
    for (int i = 0; i < 20; i++) {
      ios.push_back(std::make_unique<AppIo>(IoOp::Write, (i % 3) * 2048, 8192, uint8_t(i + 1)));
      c.replica(0).app_request(&ios.back()->req);
    }
    c.run();
    ASSERT_EQ(c.node(0).disk, c.node(1).disk) << "seed " << seed;
    EXPECT_EQ(c.node(0).disk[2 * 2048], 20);  // the last write wins on both
  }
}

TEST(Replica, SplitBrainIsDetected) {
  Cluster c(9, kSize);
  initial_setup(c);
  c.disconnect();
  c.replica(1).promote(true);
  c.run();
  ASSERT_EQ(c.node(1).promote_result, 1);
  write(c, 0, 0, 4096, 1);
  write(c, 1, 4096, 4096, 2);
  c.connect();
  c.run();
  EXPECT_FALSE(c.connected());
  EXPECT_TRUE(c.replica(0).status().suspended_split_brain || c.replica(1).status().suspended_split_brain);
  // The node that saw the other's State first detects it and goes StandAlone; the harness (like a real link)
  // may close the connection before the other side's State arrives, so either node may be the one.
  EXPECT_TRUE(c.replica(0).status().conn == ConnState::StandAlone ||
              c.replica(1).status().conn == ConnState::StandAlone);
}

TEST(Replica, FlushReachesBothDisksInProtocolC) {
  Cluster c(10, kSize);
  initial_setup(c);
  int f0 = c.node(0).flushes, f1 = c.node(1).flushes;
  AppIo io(IoOp::Flush, 0, 0);
  c.replica(0).app_request(&io.req);
  c.run();
  EXPECT_TRUE(io.done);
  EXPECT_EQ(c.node(0).flushes, f0 + 1);
  EXPECT_EQ(c.node(1).flushes, f1 + 1);
}

TEST(Replica, LargeWritesAreSplitAcrossMessages) {
  Cluster c(11, kSize);
  initial_setup(c);
  write(c, 0, 0, 3 << 20, 0x33);
  EXPECT_EQ(c.node(1).disk[(3 << 20) - 1], 0x33);
  EXPECT_EQ(c.node(0).disk, c.node(1).disk);
}

TEST(Replica, ReconnectWithoutChangesNeedsNoResync) {
  Cluster c(12, kSize);
  initial_setup(c);
  c.replica(0).demote(0);
  c.run();
  c.disconnect();
  c.connect();
  c.run();
  EXPECT_EQ(c.replica(1).status().repl, ReplState::Established);
  EXPECT_EQ(c.replica(1).status().disk, DiskState::UpToDate);
  EXPECT_EQ(c.replica(0).status().resync_bytes_sent, c.replica(0).status().resync_bytes_sent);
}

}  // namespace
}  // namespace tandem

namespace tandem {
namespace {

using testing::Cluster;

TEST(ReplicaBadInput, DataBeyondTheDeviceDropsTheConnectionAndWritesNothing) {
  Cluster c(21, kSize);
  initial_setup(c);
  std::vector<uint8_t> block(4096, 0xEE);
  wire::Message m;
  m.type = wire::MsgType::Data;
  m.data = {1, kSize, 4096, 0, block.data()};
  auto before = c.node(1).disk;
  c.replica(1).peer_message(m);
  c.run();
  EXPECT_FALSE(c.connected());
  EXPECT_TRUE(c.node(1).pending_io.empty());
  EXPECT_EQ(c.node(1).disk, before);
}

TEST(ReplicaBadInput, UnknownAckDropsTheConnection) {
  Cluster c(22, kSize);
  initial_setup(c);
  wire::Message m;
  m.type = wire::MsgType::WriteAck;
  m.seq_result = {12345, 0};
  c.replica(0).peer_message(m);
  c.run();
  EXPECT_FALSE(c.connected());
}

TEST(ReplicaBadInput, ResyncDataWhenNotSyncTargetIsRefused) {
  Cluster c(23, kSize);
  initial_setup(c);
  std::vector<uint8_t> block(4096, 0xEE);
  wire::Message m;
  m.type = wire::MsgType::ResyncData;
  m.resync = {0, 4096, 0, block.data()};
  auto before = c.node(1).disk;
  c.replica(1).peer_message(m);
  c.run();
  EXPECT_FALSE(c.connected());
  EXPECT_EQ(c.node(1).disk, before);
}

TEST(Replica, ProtocolBCompletesOnReceipt) {
  Cluster c(24, kSize, 'B');
  initial_setup(c);
  testing::AppIo io(IoOp::Write, 0, 4096, 3);
  c.replica(0).app_request(&io.req);
  c.node(0).run_io(0);  // local write done
  EXPECT_FALSE(io.done);
  // Deliver the Data message and the RecvAck, but do not let the peer's disk write run.
  ASSERT_TRUE(c.deliver_one(0));
  ASSERT_EQ(c.node(1).pending_io.size(), 1u);
  ASSERT_TRUE(c.deliver_one(1));
  EXPECT_TRUE(io.done);
  EXPECT_EQ(c.node(1).disk[0], 0);  // not yet on the peer's disk: protocol B does not wait for it
  c.run();
  EXPECT_EQ(c.node(1).disk[0], 3);
}

TEST(Replica, DisconnectedPrimaryKeepsServingAndTracksBlocks) {
  Cluster c(25, kSize);
  initial_setup(c);
  c.disconnect();
  testing::AppIo io(IoOp::Write, 8192, 4096, 4);
  c.replica(0).app_request(&io.req);
  c.run();
  EXPECT_TRUE(io.done);
  EXPECT_EQ(io.result, 0);
  EXPECT_TRUE(c.replica(0).bitmap().test(2));
  EXPECT_NE(c.replica(0).status().ids.bitmap, 0u);
}

TEST(Replica, OutdatedNodeRefusesPromotionWithoutForce) {
  Cluster c(26, kSize);
  initial_setup(c);
  c.disconnect();
  c.replica(1).promote(false);
  EXPECT_EQ(c.node(1).promote_result, 0);
  EXPECT_NE(c.node(1).promote_message.find("Outdated"), std::string::npos) << c.node(1).promote_message;
}

}  // namespace
}  // namespace tandem
