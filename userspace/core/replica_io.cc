// Replica: application requests on the Primary, their mirroring, and the peer's writes on the Secondary.
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "common/check.h"
#include "common/log.h"
#include "core/replica.h"
#include "core/replica_tags.h"

namespace tandem {
namespace {

// seq = counter << 16 | slot: an ack names its table slot directly, and the counter catches stale or forged acks.
constexpr uint64_t kSlotBits = 16;
uint64_t make_seq(uint64_t counter, uint32_t slot) { return (counter << kSlotBits) | slot; }
uint32_t seq_slot(uint64_t seq) { return static_cast<uint32_t>(seq & ((1u << kSlotBits) - 1)); }
uint64_t seq_counter(uint64_t seq) { return seq >> kSlotBits; }

bool overlaps(uint64_t a_off, uint64_t a_len, uint64_t b_off, uint64_t b_len) {
  return a_off < b_off + b_len && b_off < a_off + a_len;
}

}  // namespace

bool Replica::peer_receives_writes() const {
  return conn_ == ConnState::Connected && handshake_done_ &&
         (repl_ == ReplState::Established || repl_ == ReplState::SyncSource || repl_ == ReplState::VerifyS ||
          repl_ == ReplState::VerifyT);
}

void Replica::app_request(IoRequest* req) {
  const bool ranged = req->op != IoOp::Flush;
  if (ranged && (req->offset > cfg_.data_size_bytes || req->length > cfg_.data_size_bytes - req->offset)) {
    fx_->complete(req, -EINVAL);
    return;
  }
  if (req->op == IoOp::Read) {
    if (role_ != Role::Primary && disk_ < DiskState::Consistent) {
      fx_->complete(req, -EIO);
      return;
    }
    if (req->length == 0) {
      fx_->complete(req, 0);
      return;
    }
    counters_.disk_read_bytes += req->length;
    app_io_bytes_ += req->length;
    fx_->submit_storage({StorageOpKind::Read, make_tag(tags::kAppRead, reinterpret_cast<uintptr_t>(req)),
                         req->offset, req->length, req->data, false});
    return;
  }
  if (role_ != Role::Primary) {
    fx_->complete(req, -EROFS);
    return;
  }
  if (ranged && req->length == 0) {
    fx_->complete(req, 0);
    return;
  }
  if (ranged) app_io_bytes_ += req->length;
  start_or_queue_write(req);
}

bool Replica::write_conflicts(uint64_t offset, uint64_t length) const {
  for (const AppWrite& w : app_writes_)
    if (w.used && !w.local_done && overlaps(offset, length, w.offset, w.length)) return true;
  // A node promoted right after being Secondary may still be writing the old Primary's data.
  for (const PeerWrite& p : peer_writes_)
    if (p.used && overlaps(offset, length, p.offset, p.length)) return true;
  // A verify chunk compares both copies: a write landing between the two reads would look like a difference.
  return resync_reading_overlaps(offset, length) || verify_in_flight_overlaps(offset, length);
}

void Replica::start_or_queue_write(IoRequest* req) {
  waiting_.push_back(req);
  retry_waiting_writes();
}

// Starts waiting requests in arrival order; stops at the first that cannot start yet (no free slot, or it
// overlaps a write still in flight) so that later requests never overtake earlier ones.
void Replica::retry_waiting_writes() {
  if (io_frozen_ || io_suspended_user_) return;
  while (!waiting_.empty()) {
    IoRequest* req = waiting_.front();
    if (req->op == IoOp::Flush) {
      bool free_slot = false;
      for (const AppFlush& f : app_flushes_) free_slot |= !f.used;
      if (!free_slot) return;
      waiting_.pop_front();
      start_flush(req);
      continue;
    }
    if (app_writes_in_flight_ >= kMaxAppWrites) return;
    if (cfg_.protocol == 'A' && peer_receives_writes() && fx_->send_backlog_bytes() > kMaxSendBacklogBytes) return;
    bool free_slot = false;
    for (const AppWrite& w : app_writes_) free_slot |= !w.used;
    if (!free_slot || write_conflicts(req->offset, req->length)) return;
    bool al_held = false;
    if (req == al_tx_req_) {
      // Its extents are taken; it goes once their transaction is durable.
      if (al_tx_in_flight_) return;
      al_tx_req_ = nullptr;
      al_held = true;
    } else if (!al_begin_write(req, &al_held)) {
      return;
    }
    waiting_.pop_front();
    start_write(req, al_held);
  }
}

// Takes the activity-log extents of a write; false = wait (every candidate extent is held by a write in flight,
// or the extents' transaction is being written). A cold extent is recorded on disk before the write goes
// anywhere: after a crash the AL must cover every block that may differ between the nodes. The transaction is
// written asynchronously (the loop goes on serving completions and the peer meanwhile); the write keeps its
// extents and starts when Effects reports the transaction durable.
bool Replica::al_begin_write(IoRequest* req, bool* held) {
  *held = false;
  if (!al_) return true;
  uint64_t offset = req->offset, length = req->length;
  meta::AlTransaction tx;
  std::vector<uint32_t> evicted;
  switch (al_->begin(offset, length, &tx, &evicted)) {
    case ActivityLog::Begin::Hot: *held = true; return true;
    case ActivityLog::Begin::Busy: al_waits_++; return false;
    case ActivityLog::Begin::NeedFlush:
      al_waits_++;
      if (!al_flush_in_flight_) {
        al_flush_in_flight_ = true;
        al_flush_token_ = al_->flush_token();
        fx_->submit_storage({StorageOpKind::Flush, make_tag(tags::kAlFlush, 0), 0, 0, nullptr, false});
      }
      return false;  // retried when the flush completes
    case ActivityLog::Begin::TooLarge:
      // More extents than the set can hold at once (a huge trim): record the range in the on-disk bitmap
      // instead; it stays out of sync until the next resync copies it.
      // It is written with FUA (start_write), so no disk cache can lose it once it completed.
      log_warn("a write of {} bytes at {} spans more activity-log extents than al-extents allows; marking it "
               "out of sync instead", length, offset);
      bitmap_.set_range(offset, length);
      persist_bitmap_range(offset, length);
      return true;
    case ActivityLog::Begin::NeedTransaction:
      // Blocks of an extent leaving the AL that are out of sync exist only in memory: write them first.
      for (uint32_t e : evicted) {
        uint64_t first = (uint64_t(e) << al_->extent_shift()) / DirtyBitmap::kBlockBytes;
        uint64_t n = al_->extent_bytes() / DirtyBitmap::kBlockBytes;
        if (bitmap_.any_in(first, n)) fx_->persist_bitmap(bitmap_, first, std::min(n, bitmap_.blocks() - first));
      }
      TANDEM_CHECK(!al_tx_in_flight_ && al_tx_req_ == nullptr);
      al_tx_req_ = req;
      al_tx_in_flight_ = true;
      fx_->submit_al_transaction(make_tag(tags::kAlTransaction, tx.seq), tx);
      return false;  // started by retry_waiting_writes once the transaction is durable
  }
  return true;
}

void Replica::free_app_write(uint32_t slot) {
  AppWrite& w = app_writes_[slot];
  if (w.al_held) al_->end(w.offset, w.length);
  if (w.oversize && w.mirrored && !w.peer_failed && w.local_result == 0) {
    // Written (with FUA) and acknowledged by the peer: both copies of the whole range are now the same, so
    // its marks — ours, and any earlier ones there — are no longer needed (a mkfs discard of the whole device
    // must not leave it out of sync).
    w.used = false;  // not itself kept marked below
    bitmap_.clear_range(w.offset, w.length);
    keep_oversize_marks(w.offset, w.length);
    persist_bitmap_range(w.offset, w.length);
    maybe_finish_resync_source();  // a resync waiting only for these bits may be complete now
    return;
  }
  w.al_held = false;
  w.used = false;
}

// Bits just cleared in [offset, offset + length) that an oversize write still in flight relies on (it is not in
// the activity log) are set again.
void Replica::keep_oversize_marks(uint64_t offset, uint64_t length) {
  for (const AppWrite& o : app_writes_)
    if (o.used && o.oversize && o.offset < offset + length && offset < o.offset + o.length) {
      uint64_t lo = std::max(o.offset, offset), hi = std::min(o.offset + o.length, offset + length);
      bitmap_.set_range(lo, hi - lo);
    }
}

void Replica::persist_bitmap_range(uint64_t offset, uint64_t length) {
  if (!al_ || length == 0) return;
  uint64_t first = offset / DirtyBitmap::kBlockBytes;
  uint64_t last = (offset + length - 1) / DirtyBitmap::kBlockBytes;
  fx_->persist_bitmap(bitmap_, first, last - first + 1);
}

void Replica::persist_bitmap_all() {
  if (al_) fx_->persist_bitmap(bitmap_, 0, bitmap_.blocks());
}

void Replica::start_write(IoRequest* req, bool al_held) {
  uint32_t slot = 0;
  while (app_writes_[slot].used) slot++;
  TANDEM_CHECK(slot < kMaxAppWrites);
  AppWrite& w = app_writes_[slot];
  w = AppWrite{};
  w.used = true;
  w.req = req;
  w.offset = req->offset;
  w.length = req->length;
  w.epoch = epoch_;
  w.al_held = al_held;
  w.oversize = al_ && !al_held;
  app_writes_in_flight_++;

  StorageOpKind kind = req->op == IoOp::Write ? StorageOpKind::Write
                       : req->op == IoOp::Trim ? StorageOpKind::Trim
                                               : StorageOpKind::WriteZeroes;
  uint32_t flags = req->op == IoOp::Trim ? wire::kDataTrim : req->op == IoOp::WriteZeroes ? wire::kDataZeroes : 0;
  if (req->fua) flags |= wire::kDataFua;
  if (cfg_.protocol == 'B') flags |= wire::kDataWantRecvAck;

  counters_.disk_write_bytes += req->length;
  // The local write is issued before the data is sent, so the disk works while the network copy runs.
  fx_->submit_storage(
      {kind, make_tag(tags::kAppWrite, slot), req->offset, req->length, req->data, req->fua || w.oversize});
  if (peer_receives_writes()) {
    // Split into messages of at most kMaxDataBytes; trims and zeroes carry no data and go as one.
    uint32_t piece = kind == StorageOpKind::Write ? wire::kMaxDataBytes : req->length;
    w.first_seq = next_seq_;
    w.mirrored = true;
    for (uint32_t done = 0; done < req->length; done += piece) {
      uint32_t len = std::min(piece, req->length - done);
      wire::Message m;
      m.type = wire::MsgType::Data;
      m.data = {make_seq(next_seq_++, slot), req->offset + done, len, flags,
                kind == StorageOpKind::Write ? req->data + done : nullptr};
      // Protocols B and C complete only after the peer answered, so the frontend's buffer outlives the send.
      if (cfg_.protocol == 'A')
        fx_->send(m);
      else
        fx_->send_zero_copy(m);
      w.acks_pending++;
      if (cfg_.protocol == 'B') w.recv_acks_pending++;
      if (kind == StorageOpKind::Write) counters_.bytes_sent += len;
    }
  } else {
    bitmap_.set_range(req->offset, req->length);
  }
}

void Replica::start_flush(IoRequest* req) {
  uint32_t slot = 0;
  while (app_flushes_[slot].used) slot++;
  TANDEM_CHECK(slot < kMaxAppFlushes);
  AppFlush& f = app_flushes_[slot];
  f = AppFlush{};
  f.used = true;
  f.req = req;
  // Protocol C promises durability on the peer too; A and B only locally (as DRBD).
  if (peer_receives_writes() && cfg_.protocol == 'C') {
    f.seq = make_seq(next_seq_++, slot);
    f.remote_pending = true;
    wire::Message m;
    m.type = wire::MsgType::Flush;
    m.seq_result.seq = f.seq;
    fx_->send(m);
  }
  if (al_) f.al_token = al_->flush_token();
  fx_->submit_storage({StorageOpKind::Flush, make_tag(tags::kAppFlush, slot), 0, 0, nullptr, false});
}

void Replica::storage_done(uint64_t tag, int result) {
  uint64_t idx = tags::index(tag);
  switch (tags::kind(tag)) {
    case tags::kAppRead:
      fx_->complete(reinterpret_cast<IoRequest*>(static_cast<uintptr_t>(idx)), result < 0 ? result : 0);
      return;
    case tags::kAppWrite: app_write_done(static_cast<uint32_t>(idx), result); return;
    case tags::kAppFlush: app_flush_done(static_cast<uint32_t>(idx), result); return;
    case tags::kPeerWrite: peer_write_done(static_cast<uint32_t>(idx), result); return;
    case tags::kPeerFlush: {
      for (auto it = peer_flushes_.begin(); it != peer_flushes_.end(); ++it) {
        if (it->arrival != idx || !it->submitted) continue;
        if (it->epoch == epoch_ && conn_ == ConnState::Connected) {
          wire::Message m;
          m.type = wire::MsgType::FlushAck;
          m.seq_result = {it->seq, result < 0 ? result : 0};
          fx_->send(m);
        }
        peer_flushes_.erase(it);
        break;
      }
      maybe_submit_peer_flushes();
      return;
    }
    case tags::kResyncRead: resync_read_done(static_cast<uint32_t>(idx), result); return;
    case tags::kVerifyRead: verify_read_done(static_cast<uint32_t>(idx), result); return;
    case tags::kPeerVerifyRead: peer_verify_read_done(static_cast<uint32_t>(idx), result); return;
    case tags::kPromoteFlush: promote_flush_done(result); return;
    case tags::kAlFlush:
      al_flush_in_flight_ = false;
      // A failed flush leaves the extents in the AL (they are retried with the next flush).
      if (result < 0) log_error("data flush before an activity-log update failed: {}", strerror(-result));
      else al_->flushed(al_flush_token_);
      retry_waiting_writes();
      return;
    case tags::kAlTransaction:
      TANDEM_CHECK(al_tx_in_flight_);
      al_tx_in_flight_ = false;
      // A failed transaction is the daemon's to report (it stops claiming the AL is kept, so a crash then
      // means a full resync); the write it admits goes ahead: failing application I/O for a metadata problem
      // helps nobody.
      (void)result;
      retry_waiting_writes();
      return;
    case tags::kSyncTargetFlush:
      sync_target_flushing_ = false;
      if (result < 0) {
        log_error("flush at the end of resync failed: {}; staying Inconsistent", strerror(-result));
        return;
      }
      finish_sync_target();
      return;
  }
  TANDEM_CHECK_MSG(false, "storage completion with an unknown tag");
}

void Replica::app_write_done(uint32_t slot, int result) {
  TANDEM_CHECK(slot < kMaxAppWrites && app_writes_[slot].used && !app_writes_[slot].local_done);
  AppWrite& w = app_writes_[slot];
  w.local_done = true;
  w.local_result = result < 0 ? result : 0;
  if (result < 0) {
    log_error("local write of {} bytes at {} failed: {}", w.length, w.offset, strerror(-result));
    // The peer may have written what our disk did not. The write failed, so the old content stands: mark the
    // range and reconnect; the resync then makes the peer match this node. (Reconnecting also keeps a resync
    // acknowledgement of an older copy of these blocks from clearing the mark.)
    bitmap_.set_range(w.offset, w.length);
    if (w.mirrored && conn_ == ConnState::Connected)
      fx_->drop_connection(false, "local write failed; resyncing its blocks to the peer");
  }
  maybe_finish_app_write(slot);
  retry_waiting_writes();
  pump_resync();
  pump_verify();
}

void Replica::maybe_finish_app_write(uint32_t slot) {
  AppWrite& w = app_writes_[slot];
  if (!w.used || !w.local_done) return;
  if (w.req && !io_frozen_) {
    bool remote_ok = cfg_.protocol == 'A'   ? true
                     : cfg_.protocol == 'B' ? w.recv_acks_pending == 0
                                            : w.acks_pending == 0;
    if (remote_ok) {
      IoRequest* req = w.req;
      w.req = nullptr;
      app_writes_in_flight_--;
      fx_->complete(req, w.local_result);
    }
  }
  if (!w.req && w.acks_pending == 0 && w.recv_acks_pending == 0) {
    free_app_write(slot);
    retry_waiting_writes();
  }
}

void Replica::on_write_ack(const wire::SeqResult& ack, bool recv_only) {
  uint32_t slot = seq_slot(ack.seq);
  AppWrite* w = slot < kMaxAppWrites ? &app_writes_[slot] : nullptr;
  uint64_t c = seq_counter(ack.seq);
  if (!w || !w->used || !w->mirrored || w->epoch != epoch_ || c < w->first_seq ||
      (recv_only ? w->recv_acks_pending == 0 : w->acks_pending == 0)) {
    protocol_error(fmt::format("{} for unknown write sequence {}", recv_only ? "RecvAck" : "WriteAck", ack.seq));
    return;
  }
  if (recv_only) {
    w->recv_acks_pending--;
  } else {
    w->acks_pending--;
    if (ack.result != 0) {
      log_error("peer failed to write {} bytes at {}: {}; marking the range out of sync", w->length, w->offset,
                strerror(-ack.result));
      bitmap_.set_range(w->offset, w->length);
      w->peer_failed = true;
      // The peer reconnects too (it is missing a block); reconnecting here as well keeps a resync
      // acknowledgement of an older copy of these blocks from clearing the mark.
      fx_->drop_connection(false, "the peer failed to write mirrored data");
    }
  }
  maybe_finish_app_write(slot);
}

void Replica::app_flush_done(uint32_t slot, int result) {
  TANDEM_CHECK(slot < kMaxAppFlushes && app_flushes_[slot].used && !app_flushes_[slot].local_done);
  AppFlush& f = app_flushes_[slot];
  f.local_done = true;
  if (result < 0) {
    log_error("local flush failed: {}", strerror(-result));
    f.result = result;
  } else if (al_) {
    al_->flushed(f.al_token);
  }
  maybe_finish_app_flush(slot);
}

void Replica::maybe_finish_app_flush(uint32_t slot) {
  AppFlush& f = app_flushes_[slot];
  if (!f.used || !f.local_done || f.remote_pending || io_frozen_) return;
  f.used = false;
  fx_->complete(f.req, f.result);
  retry_waiting_writes();
}

void Replica::on_flush_ack(const wire::SeqResult& ack) {
  uint32_t slot = seq_slot(ack.seq);
  if (slot >= kMaxAppFlushes || !app_flushes_[slot].used || !app_flushes_[slot].remote_pending ||
      app_flushes_[slot].seq != ack.seq) {
    protocol_error(fmt::format("FlushAck for unknown flush sequence {}", ack.seq));
    return;
  }
  AppFlush& f = app_flushes_[slot];
  f.remote_pending = false;
  if (ack.result != 0) {
    log_error("peer flush failed: {}", strerror(-ack.result));
    f.result = ack.result;
  }
  maybe_finish_app_flush(slot);
}

// ---- the peer's writes (Secondary, or SyncTarget) ----

bool Replica::can_accept_peer_message() const {
  return peer_writes_in_flight_ < kMaxPeerWrites && peer_buffers_out_ < kMaxPeerDataBuffers;
}

void Replica::on_peer_data(const wire::Message& m) {
  const bool resync = m.type == wire::MsgType::ResyncData;
  uint64_t offset = resync ? m.resync.offset : m.data.offset;
  uint32_t length = resync ? m.resync.length : m.data.length;
  if (!resync && (role_ == Role::Primary || peer_role_ != Role::Primary)) {
    protocol_error(role_ == Role::Primary ? "peer sent application data while this node is Primary"
                                          : "peer sent application data while it is not Primary");
    return;
  }
  if (resync && repl_ != ReplState::SyncTarget) {
    protocol_error("peer sent resync data while this node is not SyncTarget");
    return;
  }
  if (offset > cfg_.data_size_bytes || length > cfg_.data_size_bytes - offset) {
    protocol_error(fmt::format("peer wrote {} bytes at offset {}, beyond the {} byte device", length, offset,
                               cfg_.data_size_bytes));
    return;
  }
  if (!can_accept_peer_message()) {
    protocol_error("peer exceeded the in-flight write limit");
    return;
  }
  uint32_t slot = 0;
  while (peer_writes_[slot].used) slot++;
  PeerWrite& p = peer_writes_[slot];
  p = PeerWrite{};
  p.used = true;
  p.resync = resync;
  p.arrival = next_arrival_++;
  p.epoch = epoch_;
  p.seq = resync ? 0 : m.data.seq;
  p.offset = offset;
  p.length = length;
  p.flags = resync ? 0 : m.data.flags;
  const uint8_t* src = resync ? m.resync.data : m.data.data;
  if (src) {
    if (m.adoptable_buffer) {
      p.buf = m.adoptable_buffer;  // received straight into one of our buffers: take it, no copy
      m.adoptable_buffer = nullptr;
    } else {
      p.buf = peer_buffers_.get();
      std::memcpy(p.buf, src, length);
    }
    peer_buffers_out_++;
    counters_.bytes_received += length;
    if (resync) counters_.resync_bytes_received += length;
  }
  peer_writes_in_flight_++;
  if (!resync && (p.flags & wire::kDataWantRecvAck)) {
    wire::Message ack;
    ack.type = wire::MsgType::RecvAck;
    ack.seq_result = {p.seq, 0};
    fx_->send(ack);
  }
  submit_ready_peer_writes();
}

// Submits every received write that overlaps no earlier in-flight one, so overlapping writes hit the disk in
// the order the Primary issued them.
void Replica::submit_ready_peer_writes() {
  for (uint32_t i = 0; i < kMaxPeerWrites; i++) {
    PeerWrite& p = peer_writes_[i];
    if (!p.used || p.submitted) continue;
    bool blocked = false;
    for (const PeerWrite& q : peer_writes_) {
      if (q.used && q.arrival < p.arrival && overlaps(p.offset, p.length, q.offset, q.length)) {
        blocked = true;
        break;
      }
    }
    if (blocked) continue;
    p.submitted = true;
    StorageOpKind kind = (p.flags & wire::kDataTrim)     ? StorageOpKind::Trim
                         : (p.flags & wire::kDataZeroes) ? StorageOpKind::WriteZeroes
                                                         : StorageOpKind::Write;
    counters_.disk_write_bytes += p.length;
    fx_->submit_storage(
        {kind, make_tag(tags::kPeerWrite, i), p.offset, p.length, p.buf, (p.flags & wire::kDataFua) != 0});
  }
}

void Replica::peer_write_done(uint32_t slot, int result) {
  TANDEM_CHECK(slot < kMaxPeerWrites && peer_writes_[slot].used && peer_writes_[slot].submitted);
  PeerWrite& p = peer_writes_[slot];
  bool failed = result < 0;
  if (failed) log_error("write of peer data ({} bytes at {}) failed: {}", p.length, p.offset, strerror(-result));
  if (p.epoch == epoch_ && conn_ == ConnState::Connected) {
    wire::Message ack;
    if (p.resync) {
      ack.type = wire::MsgType::ResyncAck;
      ack.resync = {p.offset, p.length, result < 0 ? result : 0, nullptr};
      if (result >= 0) resync_done_bytes_ += p.length;
    } else {
      ack.type = wire::MsgType::WriteAck;
      ack.seq_result = {p.seq, result < 0 ? result : 0};
    }
    fx_->send(ack);
  }
  if (p.buf) {
    peer_buffers_.put(p.buf);
    peer_buffers_out_--;
  }
  p = PeerWrite{};
  peer_writes_in_flight_--;
  submit_ready_peer_writes();
  submit_ready_peer_verifies();
  maybe_submit_peer_flushes();
  finish_sync_target();
  retry_waiting_writes();  // app writes and verify chunks may have waited for this peer write (write_conflicts)
  pump_verify();
  if (promote_after_drain_ && peer_writes_in_flight_ == 0) {
    promote_after_drain_ = false;
    promote(promote_force_);
  }
  if (failed && conn_ == ConnState::Connected) {
    // Our copy now lacks a block the Primary believes mirrored (it marked it when it saw the failed ack). Stop
    // claiming good data, so this node is neither promoted nor used as a sync source, and reconnect: the
    // handshake makes us SyncTarget for the marked blocks (also when a resync runs now: it must not end with
    // this block missing).
    if (disk_ != DiskState::Inconsistent) set_disk(DiskState::Inconsistent);
    fx_->drop_connection(false, "local write of peer data failed");
  }
}

void Replica::on_peer_flush(const wire::SeqResult& f) {
  if (peer_flushes_.size() >= kMaxAppFlushes) {
    protocol_error("peer exceeded the in-flight flush limit");
    return;
  }
  peer_flushes_.push_back({f.seq, next_arrival_++, epoch_, false});
  maybe_submit_peer_flushes();
}

// A flush covers every write received before it: it is issued once those have all completed.
void Replica::maybe_submit_peer_flushes() {
  for (PeerFlush& f : peer_flushes_) {
    if (f.submitted) continue;
    bool earlier_in_flight = false;
    for (const PeerWrite& p : peer_writes_) earlier_in_flight |= p.used && p.arrival < f.arrival;
    if (earlier_in_flight) return;
    f.submitted = true;
    fx_->submit_storage({StorageOpKind::Flush, make_tag(tags::kPeerFlush, f.arrival), 0, 0, nullptr, false});
  }
}

}  // namespace tandem
