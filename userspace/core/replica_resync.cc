// Replica: the resync engine. The source walks its dirty bitmap in disk order, reads chunks of out-of-sync
// blocks (at most kResyncWindow in flight) and sends them (with csums-alg, it first asks the target for the
// chunk's digests, and sends only the blocks whose digests differ; equal blocks are done without a copy); the target writes them in arrival order with the
// application writes it receives, and acknowledges. A chunk's bits are cleared only when acknowledged, so a
// broken connection leaves exactly the unconfirmed blocks marked for the next resync.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "common/check.h"
#include "common/log.h"
#include "core/block_digests.h"
#include "core/replica.h"
#include "core/replica_tags.h"

namespace tandem {

bool Replica::resync_reading_overlaps(uint64_t offset, uint64_t length) const {
  for (const ResyncSlot& r : resync_)
    if (r.state == ResyncSlot::State::Reading && offset < r.offset + r.length && r.offset < offset + length)
      return true;
  return false;
}

// csums-alg, unless csums-after-crash-only limits it to the resync after a Primary crash (either side's).
bool Replica::use_csums() const {
  if (cfg_.csums_alg == DigestAlg::None) return false;
  if (!cfg_.csums_after_crash_only) return true;
  return ps_.crashed_primary || (peer_state_.flags & wire::kStateCrashedPrimary);
}

void Replica::begin_sync_source(bool full) {
  if (full) {
    bitmap_.set_all();
    persist_bitmap_all();
  }
  resync_uses_csums_ = use_csums();
  repl_ = ReplState::SyncSource;
  peer_disk_ = DiskState::Inconsistent;
  resync_cursor_block_ = 0;
  resync_total_bytes_ = bitmap_.dirty_bytes();
  resync_done_bytes_ = 0;
  resync_controller_.reset();
  controller_last_done_ = 0;
  if (cfg_.dynamic_resync.dynamic) resync_tokens_ = 0;  // the first budget comes with the next tick
  log_info("resync to node {} started ({}{}): {} bytes out of sync", cfg_.peer_node_id, full ? "full" : "bitmap",
           resync_uses_csums_ ? fmt::format(", csums-alg {}", digest_alg_name(cfg_.csums_alg)) : "",
           resync_total_bytes_);
  wire::Message m;
  m.type = wire::MsgType::SyncStart;
  m.sync_start = {full ? 1u : 0u, resync_total_bytes_};
  fx_->send(m);
  fx_->state_changed();
  pump_resync();
  maybe_finish_resync_source();
}

void Replica::pump_resync() {
  if (repl_ != ReplState::SyncSource || resync_paused_) return;
  const uint32_t chunk_blocks = kResyncChunkBytes / DirtyBitmap::kBlockBytes;
  for (uint32_t i = 0; i < kResyncWindow; i++) {
    ResyncSlot& r = resync_[i];
    if (r.state != ResyncSlot::State::Free) continue;
    uint64_t start;
    uint32_t run;
    if (!bitmap_.next_run(resync_cursor_block_, chunk_blocks, &start, &run)) break;
    uint64_t offset = start * DirtyBitmap::kBlockBytes;
    uint32_t length = run * DirtyBitmap::kBlockBytes;
    // Reading under an application write still in flight could send a stale block after the newer one.
    if (write_conflicts(offset, length)) break;
    bool in_flight = false;  // the same blocks already travelling (a second pass over unacked bits)
    for (const ResyncSlot& o : resync_)
      in_flight |= o.state != ResyncSlot::State::Free && offset < o.offset + o.length && o.offset < offset + length;
    if (in_flight) break;
    if (rate_limited()) {
      if (resync_tokens_ <= 0) break;  // resumed by tick()
      resync_tokens_ -= length;
    }
    resync_cursor_block_ = start + run;
    r = ResyncSlot{};
    r.state = ResyncSlot::State::Reading;
    r.offset = offset;
    r.length = length;
    r.epoch = epoch_;
    r.buf = resync_buffers_.get();
    r.csums = resync_uses_csums_;
    if (r.csums) {
      static_assert(kResyncChunkBytes <= wire::kVerifyMaxBlocks * DirtyBitmap::kBlockBytes);
      wire::Message m;
      m.type = wire::MsgType::VerifyRequest;
      m.verify.offset = offset;
      m.verify.length = length;
      m.verify.alg = static_cast<uint8_t>(cfg_.csums_alg);
      m.verify.flags = wire::kVerifyForResync;
      fx_->send(m);
    }
    counters_.disk_read_bytes += length;
    fx_->submit_storage({StorageOpKind::Read, make_tag(tags::kResyncRead, i), offset, length, r.buf, false});
  }
}

void Replica::resync_read_done(uint32_t slot, int result) {
  TANDEM_CHECK(slot < kResyncWindow && resync_[slot].state == ResyncSlot::State::Reading);
  ResyncSlot& r = resync_[slot];
  bool current = r.epoch == epoch_ && repl_ == ReplState::SyncSource;
  if (!current || result < 0) {
    if (current) {
      log_error("read for resync ({} bytes at {}) failed: {}", r.length, r.offset, strerror(-result));
      fx_->drop_connection(false, "local read error during resync");
    }
    resync_buffers_.put(r.buf);
    r = ResyncSlot{};
    retry_waiting_writes();
    // A read of a previous connection may have held back the current resync (same blocks in flight).
    pump_resync();
    maybe_finish_resync_source();
    return;
  }
  r.local_done = true;
  if (r.csums) {
    digest_blocks(cfg_.csums_alg, r.buf, r.length, r.local.data());
    if (!r.remote_done) return;  // continued in on_csums_reply; writes to the range still wait
  }
  send_resync_blocks(slot);
}

// The peer's digests of a chunk this node is resyncing arrived.
bool Replica::on_csums_reply(const wire::VerifyMsg& v) {
  for (uint32_t i = 0; i < kResyncWindow; i++) {
    ResyncSlot& r = resync_[i];
    if (r.state != ResyncSlot::State::Reading || !r.csums || r.remote_done || r.epoch != epoch_ ||
        r.offset != v.offset || r.length != v.length || v.alg != static_cast<uint8_t>(cfg_.csums_alg))
      continue;
    r.remote_done = true;
    r.remote_result = v.result;
    r.remote = v.digests;
    if (r.local_done) send_resync_blocks(i);
    return true;
  }
  return false;
}

// Sends the chunk's blocks (all of them, or with csums the runs whose digests differ; equal blocks are in
// sync already). Queued before any later write to these blocks; the buffer is kept until the last ack
// (zero-copy send).
void Replica::send_resync_blocks(uint32_t slot) {
  ResyncSlot& r = resync_[slot];
  const uint32_t blocks = r.length / DirtyBitmap::kBlockBytes;
  auto differs = [&](uint32_t b) {
    return !r.csums || r.remote_result != 0 || !same_digest(cfg_.csums_alg, r.local.data(), r.remote.data(), b);
  };
  r.state = ResyncSlot::State::WaitAck;
  r.acks_pending = 0;
  for (uint32_t b = 0; b < blocks;) {
    uint64_t at = r.offset + uint64_t(b) * DirtyBitmap::kBlockBytes;
    if (!differs(b)) {
      bitmap_.clear_range(at, DirtyBitmap::kBlockBytes);
      keep_oversize_marks(at, DirtyBitmap::kBlockBytes);
      resync_done_bytes_ += DirtyBitmap::kBlockBytes;
      counters_.resync_csum_equal_bytes += DirtyBitmap::kBlockBytes;
      b++;
      continue;
    }
    uint32_t e = b;
    while (e < blocks && differs(e)) e++;
    uint32_t length = (e - b) * DirtyBitmap::kBlockBytes;
    wire::Message m;
    m.type = wire::MsgType::ResyncData;
    m.resync = {at, length, 0, r.buf + size_t(b) * DirtyBitmap::kBlockBytes};
    fx_->send_zero_copy(m);
    counters_.bytes_sent += length;
    counters_.resync_bytes_sent += length;
    r.acks_pending++;
    b = e;
  }
  if (r.acks_pending == 0) {
    resync_buffers_.put(r.buf);
    r = ResyncSlot{};
  }
  retry_waiting_writes();
  pump_resync();
  maybe_finish_resync_source();
}

void Replica::on_resync_ack(const wire::ResyncMsg& ack) {
  for (uint32_t i = 0; i < kResyncWindow; i++) {
    ResyncSlot& r = resync_[i];
    if (r.state != ResyncSlot::State::WaitAck || r.acks_pending == 0 || ack.offset < r.offset ||
        ack.length > r.length || ack.offset - r.offset > r.length - ack.length)
      continue;
    if (ack.result == 0) {
      bitmap_.clear_range(ack.offset, ack.length);
      keep_oversize_marks(ack.offset, ack.length);
      resync_done_bytes_ += ack.length;
      if (--r.acks_pending > 0) return;
    } else {
      // The bits stay set; the target goes Inconsistent and reconnects, and the next resync retries them.
      log_error("peer failed to write resync data ({} bytes at {}): {}", r.length, r.offset, strerror(-ack.result));
      resync_buffers_.put(r.buf);
      r = ResyncSlot{};
      fx_->drop_connection(false, "peer failed to write resync data");
      return;
    }
    resync_buffers_.put(r.buf);
    r = ResyncSlot{};
    pump_resync();
    maybe_finish_resync_source();
    return;
  }
  protocol_error(fmt::format("ResyncAck for a range not in flight ({} bytes at {})", ack.length, ack.offset));
}

void Replica::maybe_finish_resync_source() {
  if (repl_ != ReplState::SyncSource) return;
  for (const ResyncSlot& r : resync_)
    if (r.state != ResyncSlot::State::Free) return;
  if (bitmap_.count() > 0) {
    // Blocks marked again while the pass ran (none today while connected): go around again.
    uint64_t start;
    uint32_t run;
    if (!bitmap_.next_run(resync_cursor_block_, 1, &start, &run)) resync_cursor_block_ = 0;
    pump_resync();
    return;
  }
  log_info("resync to node {} finished: {} bytes copied", cfg_.peer_node_id, resync_done_bytes_);
  wire::Message m;
  m.type = wire::MsgType::SyncDone;
  m.uuid = ps_.ids.current;
  fx_->send(m);
  ps_.ids.forget_bitmap();
  ps_.crashed_primary = false;
  ps_.needs_full_sync = false;
  persist_bitmap_all();  // all clear now: a later crash need not copy these blocks again
  save();
  repl_ = ReplState::Established;
  peer_disk_ = DiskState::UpToDate;
  fx_->state_changed();
}

void Replica::on_sync_start(const wire::SyncStart& s) {
  if (role_ == Role::Primary) {
    protocol_error("peer wants to resync this node while it is Primary");
    return;
  }
  // The peer decided (it became Primary with --force while we asked to): our data is being replaced, so our
  // own promotion request is void; the peer's reply, when it comes, is ignored.
  cancel_promotion("the peer started a resync towards this node");
  repl_ = ReplState::SyncTarget;
  resync_total_bytes_ = s.total_bytes;
  resync_done_bytes_ = 0;
  sync_done_received_ = false;
  sync_target_flushing_ = false;
  sync_target_flushed_ = false;
  peer_disk_ = DiskState::UpToDate;
  log_info("resync from node {} started ({}): {} bytes", cfg_.peer_node_id, s.full ? "full" : "bitmap",
           s.total_bytes);
  fx_->run_handler("before-resync-target");
  set_disk(DiskState::Inconsistent);
  fx_->state_changed();
}

void Replica::on_sync_done(uint64_t uuid) {
  if (repl_ != ReplState::SyncTarget) {
    protocol_error("SyncDone while this node is not SyncTarget");
    return;
  }
  sync_done_received_ = true;
  sync_done_uuid_ = uuid;
  sync_done_arrival_ = next_arrival_++;
  sync_done_epoch_ = epoch_;
  finish_sync_target();
}

// Called after each peer write: once every write received before SyncDone is on disk, flush and adopt the
// source's generation.
void Replica::finish_sync_target() {
  if (!sync_done_received_ || sync_target_flushing_) return;
  for (const PeerWrite& p : peer_writes_)
    if (p.used && p.arrival < sync_done_arrival_) return;
  if (disk_ == DiskState::UpToDate) return;
  if (!sync_target_flushed_) {
    sync_target_flushing_ = true;
    sync_target_flushed_ = true;
    fx_->submit_storage({StorageOpKind::Flush, make_tag(tags::kSyncTargetFlush, 0), 0, 0, nullptr, false});
    return;
  }
  sync_done_received_ = false;
  sync_target_flushed_ = false;
  ps_.ids.current = sync_done_uuid_;
  ps_.ids.bitmap = 0;
  ps_.crashed_primary = false;
  ps_.needs_full_sync = false;
  bitmap_.clear_all();
  persist_bitmap_all();
  bool still_connected = sync_done_epoch_ == epoch_ && conn_ == ConnState::Connected;
  if (repl_ == ReplState::SyncTarget) repl_ = ReplState::Established;
  if (still_connected) {
    log_info("resync from node {} finished; data is UpToDate", cfg_.peer_node_id);
    set_disk(DiskState::UpToDate);
    fx_->run_handler("after-resync-target");
  } else {
    // Complete as of SyncDone, but the source may have written since the link broke.
    log_info("resync from node {} finished after the connection was lost; data is Outdated", cfg_.peer_node_id);
    set_disk(DiskState::Outdated);
  }
  fx_->state_changed();
}

}  // namespace tandem

namespace tandem {

std::string Replica::pause_sync() {
  if (repl_ == ReplState::SyncTarget) return "run pause-sync on the sync source (the peer)";
  if (repl_ != ReplState::SyncSource) return "no resync is running";
  resync_paused_ = true;
  log_info("resync to node {} paused", cfg_.peer_node_id);
  send_state(false);
  fx_->state_changed();
  return "";
}

std::string Replica::resume_sync() {
  if (!resync_paused_) return repl_ == ReplState::SyncSource ? "" : "no resync is paused";
  resync_paused_ = false;
  log_info("resync to node {} resumed", cfg_.peer_node_id);
  send_state(false);
  fx_->state_changed();
  pump_resync();
  maybe_finish_resync_source();
  return "";
}

void Replica::tick(uint64_t now_ms) {
  uint64_t dt = last_tick_ms_ ? now_ms - last_tick_ms_ : 0;
  last_tick_ms_ = now_ms;
  if (cfg_.dynamic_resync.dynamic) {
    controller_step();
  } else if (cfg_.resync_rate_bytes_per_s > 0) {
    // A token bucket with at most 200 ms of burst.
    double cap = static_cast<double>(cfg_.resync_rate_bytes_per_s) / 5;
    resync_tokens_ = std::min(cap, resync_tokens_ + static_cast<double>(cfg_.resync_rate_bytes_per_s) * dt / 1000.0);
    pump_resync();
  }
  uint64_t done = resync_done_bytes_;
  if (now_ms - rate_window_start_ms_ >= 1000) {
    uint64_t span = now_ms - rate_window_start_ms_;
    resync_rate_measured_ = done >= rate_window_start_bytes_ && span > 0
                                ? (done - rate_window_start_bytes_) * 1000 / span
                                : 0;
    rate_window_start_ms_ = now_ms;
    rate_window_start_bytes_ = done;
  }
}

// One step of the dynamic controller (the daemon ticks every 100 ms, the controller's step).
void Replica::controller_step() {
  uint64_t app_io = app_io_bytes_ - controller_last_app_io_;
  controller_last_app_io_ = app_io_bytes_;
  if (repl_ != ReplState::SyncSource || resync_paused_) return;
  uint64_t delivered = resync_done_bytes_ - controller_last_done_;
  controller_last_done_ = resync_done_bytes_;
  uint64_t in_flight = 0;
  for (const ResyncSlot& r : resync_)
    if (r.state != ResyncSlot::State::Free) in_flight += r.length;
  uint64_t budget = resync_controller_.step(delivered, in_flight);
  if (app_io > 0)
    budget = yield_to_application(budget, resync_rate_measured_, cfg_.dynamic_resync.min_rate_bytes_per_s);
  // A step's budget is not saved up; a chunk started on credit is paid back.
  resync_tokens_ = std::min(resync_tokens_, 0.0) + static_cast<double>(budget);
  pump_resync();
}

}  // namespace tandem
