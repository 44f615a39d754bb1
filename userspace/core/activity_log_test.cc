#include "core/activity_log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/replica.h"
#include "meta/al_ring.h"

namespace tandem {
namespace {

constexpr uint64_t kExt = 4ull << 20;

TEST(ActivityLog, ColdExtentNeedsATransactionHotOneDoesNot) {
  ActivityLog al(3, 22, 0);
  meta::AlTransaction tx;
  std::vector<uint32_t> ev;
  EXPECT_EQ(al.begin(0, 4096, &tx, &ev), ActivityLog::Begin::NeedTransaction);
  EXPECT_EQ(tx.seq, 1u);
  EXPECT_EQ(tx.updates, (std::vector<std::pair<uint32_t, uint32_t>>{{0, 0}}));
  EXPECT_EQ(tx.al_extents, 3u);
  EXPECT_TRUE(ev.empty());
  EXPECT_EQ(al.begin(8192, 4096, &tx, &ev), ActivityLog::Begin::Hot);
  EXPECT_EQ(al.refs(0), 2u);
  // A write across an extent boundary takes both; only the cold one is recorded.
  EXPECT_EQ(al.begin(kExt - 4096, 8192, &tx, &ev), ActivityLog::Begin::NeedTransaction);
  EXPECT_EQ(tx.seq, 2u);
  ASSERT_EQ(tx.updates.size(), 1u);
  EXPECT_EQ(tx.updates[0].second, 1u);
  EXPECT_EQ(al.transactions(), 2u);
}

TEST(ActivityLog, EvictsOnlyColdExtentsLeastRecentlyUsedFirst) {
  ActivityLog al(2, 22, 10);
  meta::AlTransaction tx;
  std::vector<uint32_t> ev;
  ASSERT_EQ(al.begin(0 * kExt, 4096, &tx, &ev), ActivityLog::Begin::NeedTransaction);
  EXPECT_EQ(tx.seq, 11u);  // continues the ring found on disk
  ASSERT_EQ(al.begin(1 * kExt, 4096, &tx, &ev), ActivityLog::Begin::NeedTransaction);
  // Both extents are held by writes in flight: a third must wait.
  EXPECT_EQ(al.begin(2 * kExt, 4096, &tx, &ev), ActivityLog::Begin::Busy);
  al.end(1 * kExt, 4096);
  al.end(0 * kExt, 4096);
  // Extent 1 was used more recently than 0 only by begin order; touch 0 again so 1 is the LRU one.
  ASSERT_EQ(al.begin(0 * kExt, 4096, &tx, &ev), ActivityLog::Begin::Hot);
  al.end(0 * kExt, 4096);
  // The writes that ended in extent 1 may still be in the disk's cache: a data flush must come first.
  uint64_t token = al.flush_token();
  ASSERT_EQ(al.begin(2 * kExt, 4096, &tx, &ev), ActivityLog::Begin::NeedFlush);
  al.flushed(token);
  ASSERT_EQ(al.begin(2 * kExt, 4096, &tx, &ev), ActivityLog::Begin::NeedTransaction);
  EXPECT_EQ(ev, (std::vector<uint32_t>{1}));
  EXPECT_TRUE(al.active(0));
  EXPECT_TRUE(al.active(2));
  EXPECT_FALSE(al.active(1));
}

TEST(ActivityLog, TooLargeWrites) {
  ActivityLog al(7, 22, 0);
  meta::AlTransaction tx;
  std::vector<uint32_t> ev;
  EXPECT_EQ(al.begin(0, 8 * kExt, &tx, &ev), ActivityLog::Begin::TooLarge);
  EXPECT_EQ(al.begin(0, 7 * kExt, &tx, &ev), ActivityLog::Begin::NeedTransaction);
}

// Transactions written to a ring and read back rebuild exactly the active set, for a set larger than one
// transaction's context, also when the newest slot is torn.
TEST(ActivityLog, RingReplayRebuildsTheSet) {
  const uint32_t slots = 2000;  // more than one context window (kAlContextPerTx)
  ActivityLog al(slots, 12, 0);
  std::vector<uint8_t> ring(size_t(meta::kAlSlots) * meta::kAlSlotBytes, 0);
  auto write = [&](const meta::AlTransaction& tx) {
    meta::encode_al_slot(tx, &ring[(tx.seq % meta::kAlSlots) * meta::kAlSlotBytes]);
  };
  for (const auto& tx : al.describe_all()) write(tx);
  meta::AlTransaction tx;
  std::vector<uint32_t> ev;
  std::vector<uint8_t> before_last;
  for (uint32_t i = 0; i < 5000; i++) {
    uint64_t off = (uint64_t(i) * 7919 % 3000) * 4096;
    auto r = al.begin(off, 4096, &tx, &ev);
    if (r == ActivityLog::Begin::NeedFlush) {
      al.flushed(al.flush_token());
      r = al.begin(off, 4096, &tx, &ev);
    }
    ASSERT_TRUE(r == ActivityLog::Begin::Hot || r == ActivityLog::Begin::NeedTransaction);
    if (r == ActivityLog::Begin::NeedTransaction) {
      before_last = ring;
      write(tx);
    }
    al.end(off, 4096);
  }
  meta::AlRecovery rec = meta::recover_al(ring);
  ASSERT_TRUE(rec.ok) << rec.problem;
  EXPECT_EQ(rec.extents, al.active_extents());
  EXPECT_EQ(rec.last_seq, al.last_seq());
  // A torn newest slot: the previous transaction's set (a superset of what was in use before it).
  std::vector<uint8_t> torn = before_last;
  uint64_t last = al.last_seq();
  std::copy(ring.begin() + long((last % meta::kAlSlots) * meta::kAlSlotBytes),
            ring.begin() + long((last % meta::kAlSlots) * meta::kAlSlotBytes + 100),
            torn.begin() + long((last % meta::kAlSlots) * meta::kAlSlotBytes));
  meta::AlRecovery rt = meta::recover_al(torn);
  ASSERT_TRUE(rt.ok) << rt.problem;
  EXPECT_EQ(rt.last_seq, last - 1);
  EXPECT_EQ(rt.damaged_slots, 1u);
  EXPECT_NE(rt.problem.find("checksum mismatch"), std::string::npos);
}

TEST(ActivityLog, DamageThatHidesPartOfTheSetIsRefused) {
  ActivityLog al(3000, 12, 0);
  std::vector<uint8_t> ring(size_t(meta::kAlSlots) * meta::kAlSlotBytes, 0);
  for (const auto& tx : al.describe_all()) meta::encode_al_slot(tx, &ring[(tx.seq % meta::kAlSlots) * meta::kAlSlotBytes]);
  ASSERT_TRUE(meta::recover_al(ring).ok);
  ring[(2 % meta::kAlSlots) * meta::kAlSlotBytes + 40] ^= 1;  // transaction 2 of 4: breaks the run
  meta::AlRecovery r = meta::recover_al(ring);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("describe only"), std::string::npos) << r.problem;
  EXPECT_NE(r.problem.find("slot 2"), std::string::npos) << r.problem;
}

TEST(ActivityLog, FreshRingIsEmptyAndTrusted) {
  std::vector<uint8_t> ring(size_t(meta::kAlSlots) * meta::kAlSlotBytes, 0);
  meta::AlRecovery r = meta::recover_al(ring);
  EXPECT_TRUE(r.ok);
  EXPECT_TRUE(r.extents.empty());
  EXPECT_EQ(r.last_seq, 0u);
}

TEST(AlRing, SlotRoundTripAndChecks) {
  meta::AlTransaction tx;
  tx.seq = 42;
  tx.al_extents = 1237;
  tx.updates = {{5, 77}, {6, 78}};
  tx.context_start = 1000;
  tx.context = std::vector<uint32_t>(237, meta::kAlFreeExtent);
  tx.context[3] = 77;
  uint8_t block[meta::kAlSlotBytes];
  meta::encode_al_slot(tx, block);
  meta::AlTransaction back;
  std::string err;
  ASSERT_EQ(meta::decode_al_slot(block, &back, &err), meta::AlSlotResult::Ok) << err;
  EXPECT_EQ(back, tx);
  block[meta::al::kVersionOff] = 9;
  EXPECT_EQ(meta::decode_al_slot(block, &back, &err), meta::AlSlotResult::UnsupportedVersion);
  block[meta::al::kVersionOff] = 1;
  block[100] ^= 0xFF;
  EXPECT_EQ(meta::decode_al_slot(block, &back, &err), meta::AlSlotResult::ChecksumMismatch);
  block[0] = 'X';
  EXPECT_EQ(meta::decode_al_slot(block, &back, &err), meta::AlSlotResult::BadMagic);
}

// ---- the Replica's use of it ----

struct Recorder final : Effects {
  std::vector<std::string> log;
  std::vector<StorageOp> io;
  void submit_storage(const StorageOp& op) override {
    io.push_back(op);
    log.push_back(op.kind == StorageOpKind::Write ? "write" : "io");
  }
  void send(const wire::Message&) override {}
  void complete(IoRequest* req, int result) override { req->complete(result); }
  void persist(const PersistentState&) override {}
  void drop_connection(bool, std::string_view) override {}
  uint64_t new_uuid() override { return 0x1000; }
  void promotion_done(bool, std::string_view) override {}
  void state_changed() override {}
  void write_al_transaction(const meta::AlTransaction& tx) override {
    log.push_back("al:" + std::to_string(tx.updates.size()));
  }
  // Performed when the test says so (al_done), so it can look at the write path meanwhile.
  void submit_al_transaction(uint64_t tag, const meta::AlTransaction& tx) override {
    log.push_back("al:" + std::to_string(tx.updates.size()));
    al_tags.push_back(tag);
  }
  std::vector<uint64_t> al_tags;
  void persist_bitmap(const DirtyBitmap&, uint64_t first, uint64_t n) override {
    log.push_back("bm:" + std::to_string(first) + "+" + std::to_string(n));
  }
};

void noop_done(IoRequest*, int) {}

TEST(ReplicaActivityLog, TransactionBeforeTheWriteAndBitmapBeforeEviction) {
  Recorder fx;
  ReplicaConfig cfg;
  cfg.data_size_bytes = 64 * 4096;
  cfg.al_extents = 1;
  cfg.al_extent_shift = 14;  // 4 blocks per extent
  PersistentState ps;
  ps.consistent = ps.was_up_to_date = ps.peer_outdated = true;
  Replica r(cfg, ps, &fx);
  r.start_activity_log();
  fx.log.clear();
  r.promote(true);
  // Promotion first flushes what this node may have received as Secondary.
  ASSERT_EQ(fx.io.size(), 1u);
  ASSERT_EQ(fx.io[0].kind, StorageOpKind::Flush);
  r.storage_done(fx.io[0].tag, 0);
  fx.io.clear();
  ASSERT_EQ(r.role(), Role::Primary);
  fx.log.clear();
  std::vector<uint8_t> buf(4096, 1);
  IoRequest w1{};
  w1.op = IoOp::Write;
  w1.offset = 0;
  w1.length = 4096;
  w1.data = buf.data();
  w1.on_complete = &noop_done;
  r.app_request(&w1);
  // The write waits for its transaction to be durable.
  EXPECT_EQ(fx.log, (std::vector<std::string>{"al:1"}));
  ASSERT_EQ(fx.al_tags.size(), 1u);
  r.storage_done(fx.al_tags[0], 0);
  EXPECT_EQ(fx.log, (std::vector<std::string>{"al:1", "write"}));
  // The only extent is held: a write to another extent waits for it.
  IoRequest w2 = w1;
  w2.offset = 5 * 4096;
  r.app_request(&w2);
  EXPECT_EQ(fx.log.size(), 2u);
  // Disconnected, so w1's block is out of sync. Once w1 completes its extent may go: after a data flush
  // (w1 may sit in the disk cache), with its bit written to the on-disk bitmap first.
  r.storage_done(fx.io[0].tag, 0);
  EXPECT_EQ(fx.log, (std::vector<std::string>{"al:1", "write", "io"}));
  ASSERT_EQ(fx.io[1].kind, StorageOpKind::Flush);
  r.storage_done(fx.io[1].tag, 0);
  EXPECT_EQ(fx.log, (std::vector<std::string>{"al:1", "write", "io", "bm:0+4", "al:1"}));
  ASSERT_EQ(fx.al_tags.size(), 2u);
  r.storage_done(fx.al_tags[1], 0);
  EXPECT_EQ(fx.log, (std::vector<std::string>{"al:1", "write", "io", "bm:0+4", "al:1", "write"}));
  // Same extent again: no metadata I/O.
  r.storage_done(fx.io[2].tag, 0);
  IoRequest w3 = w1;
  w3.offset = 6 * 4096;
  r.app_request(&w3);
  EXPECT_EQ(fx.log.back(), "write");
  EXPECT_EQ(fx.log.size(), 7u);
}

// While a transaction is being written, later writes wait behind the one it admits (in order, even to hot
// extents), reads are served, and a failed transaction still lets the write go (the daemon reports it).
TEST(ReplicaActivityLog, WritesWaitInOrderBehindATransactionInFlight) {
  Recorder fx;
  ReplicaConfig cfg;
  cfg.data_size_bytes = 64 * 4096;
  cfg.al_extents = 2;
  cfg.al_extent_shift = 14;
  PersistentState ps;
  ps.consistent = ps.was_up_to_date = ps.peer_outdated = true;
  Replica r(cfg, ps, &fx);
  r.start_activity_log();
  r.promote(true);
  r.storage_done(fx.io[0].tag, 0);
  fx.io.clear();
  fx.log.clear();
  std::vector<uint8_t> buf(4096, 1);
  auto write_at = [&](uint64_t block) {
    IoRequest w{};
    w.op = IoOp::Write;
    w.offset = block * 4096;
    w.length = 4096;
    w.data = buf.data();
    w.on_complete = &noop_done;
    return w;
  };
  IoRequest a = write_at(0), b = write_at(1), c = write_at(4);
  r.app_request(&a);
  ASSERT_EQ(fx.al_tags.size(), 1u);
  r.storage_done(fx.al_tags[0], 0);
  r.storage_done(fx.io[0].tag, 0);  // a is done: extent 0 is hot
  fx.log.clear();
  r.app_request(&c);  // extent 1 is cold: a transaction
  r.app_request(&b);  // extent 0 is hot, but b came later: it waits
  EXPECT_EQ(fx.log, (std::vector<std::string>{"al:1"}));
  bool read_done = false;
  IoRequest rd = write_at(8);
  rd.op = IoOp::Read;
  rd.on_complete = [](IoRequest* q, int) { *static_cast<bool*>(q->frontend_ctx) = true; };
  rd.frontend_ctx = &read_done;
  r.app_request(&rd);
  ASSERT_EQ(fx.io.back().kind, StorageOpKind::Read);
  r.storage_done(fx.io.back().tag, 0);
  EXPECT_TRUE(read_done);
  ASSERT_EQ(fx.al_tags.size(), 2u);
  r.storage_done(fx.al_tags[1], -EIO);
  EXPECT_EQ(fx.log, (std::vector<std::string>{"al:1", "io", "write", "write"}));
}

}  // namespace
}  // namespace tandem
