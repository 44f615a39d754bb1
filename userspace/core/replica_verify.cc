// Replica: online verify. The verifying node (VerifyS) walks the device in chunks of up to kVerifyMaxBlocks
// blocks, at most kResyncWindow chunks at a time: it asks the peer for the chunk's digests and reads the chunk
// itself; blocks whose digests (verify-alg, default crc32c) differ are set in its dirty bitmap (DRBD's semantics: verify only marks; a
// disconnect/connect copies them from the marking node). Application writes continue; a chunk is not read
// while an application write to it is in flight, but a write that races the peer's read can still show up as a
// difference (an extra block resynced, never a lost one).
#include <fmt/format.h>

#include <cstring>

#include "common/check.h"
#include "common/digest.h"
#include "common/log.h"
#include "core/block_digests.h"
#include "core/replica.h"
#include "core/replica_tags.h"

namespace tandem {

namespace {
constexpr uint32_t kBlock = DirtyBitmap::kBlockBytes;
}  // namespace

std::string Replica::start_verify() {
  if (conn_ != ConnState::Connected || !handshake_done_) return "not connected to the peer";
  if (repl_ != ReplState::Established) return fmt::format("replication is {}; verify needs Established", to_string(repl_));
  // The connection's bitmap exchange decides whether a resync comes first (simulator seed 118648: a verify
  // started while this node waited for the peer's bitmap, and the resync it was about to start never ran).
  if (!peer_bitmap_received_ || source_waits_for_bitmap_) return "the bitmap exchange with the peer is not finished yet; retry";
  if (disk_ != DiskState::UpToDate || peer_disk_ != DiskState::UpToDate) return "verify needs both disks UpToDate";
  repl_ = ReplState::VerifyS;
  verify_cursor_bytes_ = 0;
  counters_.verify_total_bytes = cfg_.data_size_bytes;
  counters_.verify_done_bytes = 0;
  counters_.verify_out_of_sync_bytes = 0;
  log_info("online verify with node {} started ({} bytes)", cfg_.peer_node_id, cfg_.data_size_bytes);
  fx_->state_changed();
  pump_verify();
  return "";
}

void Replica::pump_verify() {
  if (repl_ != ReplState::VerifyS) return;
  for (uint32_t i = 0; i < kResyncWindow && verify_cursor_bytes_ < cfg_.data_size_bytes; i++) {
    VerifySlot& v = verify_[i];
    if (v.used) continue;
    uint64_t offset = verify_cursor_bytes_;
    uint32_t length = static_cast<uint32_t>(
        std::min<uint64_t>(uint64_t(wire::kVerifyMaxBlocks) * kBlock, cfg_.data_size_bytes - offset));
    if (write_conflicts(offset, length)) return;  // retried when the write completes
    verify_cursor_bytes_ += length;
    v = VerifySlot{};
    v.used = true;
    v.offset = offset;
    v.length = length;
    v.epoch = epoch_;
    v.buf = resync_buffers_.get();
    wire::Message m;
    m.type = wire::MsgType::VerifyRequest;
    m.verify.offset = offset;
    m.verify.length = length;
    m.verify.alg = static_cast<uint8_t>(cfg_.verify_alg);
    fx_->send(m);
    counters_.disk_read_bytes += length;
    fx_->submit_storage({StorageOpKind::Read, make_tag(tags::kVerifyRead, i), offset, length, v.buf, false});
  }
  if (verify_cursor_bytes_ < cfg_.data_size_bytes) return;
  for (const VerifySlot& v : verify_)
    if (v.used) return;
  // All compared.
  wire::Message done;
  done.type = wire::MsgType::VerifyDone;
  fx_->send(done);
  repl_ = ReplState::Established;
  start_pending_resync();
  uint64_t oos = counters_.verify_out_of_sync_bytes;
  log_info("online verify with node {} finished: {} bytes out of sync{}", cfg_.peer_node_id, oos,
           oos ? "; disconnect and connect to resync them" : "");
  if (oos) fx_->run_handler("out-of-sync");
  fx_->state_changed();
}

void Replica::verify_read_done(uint32_t slot, int result) {
  TANDEM_CHECK(slot < kResyncWindow && verify_[slot].used && !verify_[slot].local_done);
  VerifySlot& v = verify_[slot];
  v.local_done = true;
  if (result < 0) v.error = result;
  else digest_blocks(cfg_.verify_alg, v.buf, v.length, v.local.data());
  maybe_compare_verify(slot);
}

void Replica::on_verify_reply(const wire::VerifyMsg& r) {
  if (r.flags & wire::kVerifyForResync) {
    if (!on_csums_reply(r))
      protocol_error(fmt::format("checksum reply for a resync range not in flight ({} bytes at {})", r.length,
                                 r.offset));
    return;
  }
  if (repl_ != ReplState::VerifyS) {
    // This node left VerifyS (a resync the peer started replaced the verify): late replies are moot.
    log_info("ignoring a verify reply ({} bytes at {}): the verify was abandoned", r.length, r.offset);
    return;
  }
  if (r.alg != static_cast<uint8_t>(cfg_.verify_alg)) {
    protocol_error(fmt::format("VerifyReply with digest algorithm {}, requested {}", r.alg,
                               digest_alg_name(cfg_.verify_alg)));
    return;
  }
  for (uint32_t i = 0; i < kResyncWindow; i++) {
    VerifySlot& v = verify_[i];
    if (!v.used || v.remote_done || v.offset != r.offset || v.length != r.length || v.epoch != epoch_) continue;
    v.remote_done = true;
    v.remote = r.digests;
    if (r.result != 0) v.error = r.result;
    maybe_compare_verify(i);
    return;
  }
  protocol_error(fmt::format("VerifyReply for a range not requested ({} bytes at {})", r.length, r.offset));
}

void Replica::maybe_compare_verify(uint32_t slot) {
  VerifySlot& v = verify_[slot];
  bool stale = v.epoch != epoch_ || repl_ != ReplState::VerifyS;
  if (!stale && !(v.local_done && v.remote_done)) return;
  if (stale && !v.local_done) return;  // freed when the read completes
  if (!stale) {
    for (uint32_t b = 0; b < v.length / kBlock; b++) {
      if (v.error != 0 || !same_digest(cfg_.verify_alg, v.local.data(), v.remote.data(), b)) {
        bitmap_.set_range(v.offset + uint64_t(b) * kBlock, kBlock);
        counters_.verify_out_of_sync_bytes += kBlock;
        persist_bitmap_range(v.offset + uint64_t(b) * kBlock, kBlock);  // outside the activity log
      }
    }
    if (v.error != 0) log_error("verify of {} bytes at {} failed to read: {}", v.length, v.offset, strerror(-v.error));
    counters_.verify_done_bytes += v.length;
  }
  resync_buffers_.put(v.buf);
  v = VerifySlot{};
  retry_waiting_writes();  // writes held back by this chunk go first
  pump_verify();
}

void Replica::on_verify_request(const wire::VerifyMsg& r) {
  if (r.offset > cfg_.data_size_bytes || r.length > cfg_.data_size_bytes - r.offset) {
    protocol_error(fmt::format("VerifyRequest beyond the device ({} bytes at {})", r.length, r.offset));
    return;
  }
  uint32_t slot = 0;
  while (slot < kResyncWindow && peer_verify_[slot].used) slot++;
  if (slot == kResyncWindow) {
    protocol_error("peer exceeded the verify window");
    return;
  }
  const bool for_resync = r.flags & wire::kVerifyForResync;
  if (for_resync && repl_ != ReplState::SyncTarget) {
    protocol_error("peer asked for resync checksums while this node is not SyncTarget");
    return;
  }
  if (!for_resync && repl_ == ReplState::Established) {
    repl_ = ReplState::VerifyT;
    fx_->state_changed();
  }
  PeerVerify& p = peer_verify_[slot];
  p = PeerVerify{};
  p.used = true;
  p.alg = r.alg;
  p.flags = r.flags;
  p.offset = r.offset;
  p.length = r.length;
  p.epoch = epoch_;
  p.arrival = next_arrival_++;
  p.buf = resync_buffers_.get();
  submit_ready_peer_verifies();
}

// The read must see every write the peer sent before its request: wait for overlapping earlier writes.
void Replica::submit_ready_peer_verifies() {
  for (uint32_t i = 0; i < kResyncWindow; i++) {
    PeerVerify& p = peer_verify_[i];
    if (!p.used || p.submitted) continue;
    bool blocked = false;
    for (const PeerWrite& w : peer_writes_)
      blocked |= w.used && w.arrival < p.arrival && p.offset < w.offset + w.length && w.offset < p.offset + p.length;
    if (blocked) continue;
    p.submitted = true;
    counters_.disk_read_bytes += p.length;
    fx_->submit_storage({StorageOpKind::Read, make_tag(tags::kPeerVerifyRead, i), p.offset, p.length, p.buf, false});
  }
}

bool Replica::verify_in_flight_overlaps(uint64_t offset, uint64_t length) const {
  for (const VerifySlot& v : verify_)
    if (v.used && offset < v.offset + v.length && v.offset < offset + length) return true;
  return false;
}

void Replica::peer_verify_read_done(uint32_t slot, int result) {
  TANDEM_CHECK(slot < kResyncWindow && peer_verify_[slot].used);
  PeerVerify& p = peer_verify_[slot];
  if (p.epoch == epoch_ && conn_ == ConnState::Connected) {
    wire::Message m;
    m.type = wire::MsgType::VerifyReply;
    m.verify.offset = p.offset;
    m.verify.length = p.length;
    m.verify.result = result < 0 ? result : 0;
    m.verify.alg = p.alg;
    m.verify.flags = p.flags;
    if (result >= 0) digest_blocks(static_cast<DigestAlg>(p.alg), p.buf, p.length, m.verify.digests.data());
    fx_->send(m);
  }
  resync_buffers_.put(p.buf);
  p = PeerVerify{};
}

void Replica::verify_connection_lost() {
  if (repl_ == ReplState::VerifyS && counters_.verify_done_bytes < counters_.verify_total_bytes)
    log_warn("online verify aborted: the connection was lost ({} of {} bytes compared)", counters_.verify_done_bytes,
             counters_.verify_total_bytes);
  for (uint32_t i = 0; i < kResyncWindow; i++)
    if (verify_[i].used && verify_[i].local_done) {
      resync_buffers_.put(verify_[i].buf);
      verify_[i] = VerifySlot{};
    }
  retry_waiting_writes();  // writes held back by the freed chunks
}

}  // namespace tandem
