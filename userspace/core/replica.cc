// Replica: construction, handshake and sync decision, roles, and connection events.
// Application and peer I/O live in replica_io.cc, the resync engine in replica_resync.cc.
#include "core/replica.h"

#include <fmt/format.h>

#include <cstring>

#include "common/check.h"
#include "common/log.h"
#include "core/replica_tags.h"

namespace tandem {

Replica::Replica(const ReplicaConfig& config, const PersistentState& loaded, Effects* fx)
    : cfg_(config), fx_(fx), ps_(loaded), bitmap_(config.data_size_bytes) {
  TANDEM_CHECK(fx_ != nullptr);
  TANDEM_CHECK(cfg_.data_size_bytes > 0 && cfg_.data_size_bytes % DirtyBitmap::kBlockBytes == 0);
  TANDEM_CHECK(cfg_.protocol == 'A' || cfg_.protocol == 'B' || cfg_.protocol == 'C');
  // Disk state at attach, as DRBD derives it: data that was UpToDate is only "Consistent" until a peer confirms
  // it is the newest (or the peer is known to be Outdated).
  if (!ps_.consistent)
    disk_ = DiskState::Inconsistent;
  else if (!ps_.was_up_to_date)
    disk_ = DiskState::Outdated;
  else
    disk_ = ps_.peer_outdated ? DiskState::UpToDate : DiskState::Consistent;
  ps_.primary = false;  // every node starts as Secondary (crash flags come from plan_attach)
  if (cfg_.al_extents > 0) al_.emplace(cfg_.al_extents, cfg_.al_extent_shift, cfg_.al_last_seq);
}

void Replica::mark_extents_out_of_sync(const std::vector<uint32_t>& extents) {
  uint64_t bytes = uint64_t(1) << cfg_.al_extent_shift;
  for (uint32_t e : extents) {
    uint64_t off = uint64_t(e) * bytes;
    if (off >= cfg_.data_size_bytes) continue;  // the device shrank since: nothing there to copy
    bitmap_.set_range(off, std::min(bytes, cfg_.data_size_bytes - off));
  }
}

void Replica::start_activity_log() {
  if (!al_) return;
  persist_bitmap_all();
  for (const meta::AlTransaction& tx : al_->describe_all()) fx_->write_al_transaction(tx);
}

Replica::~Replica() {
  for (auto& p : peer_writes_)
    if (p.buf) peer_buffers_.put(p.buf);
  for (auto& r : resync_)
    if (r.buf) resync_buffers_.put(r.buf);
  for (auto& v : verify_)
    if (v.buf) resync_buffers_.put(v.buf);
  for (auto& p : peer_verify_)
    if (p.buf) resync_buffers_.put(p.buf);
}

void Replica::save() { fx_->persist(ps_); }

void Replica::set_disk(DiskState d) {
  if (d == disk_) return;
  log_info("disk state {} -> {}", to_string(disk_), to_string(d));
  disk_ = d;
  ps_.consistent = d == DiskState::Outdated || d == DiskState::Consistent || d == DiskState::UpToDate;
  if (d == DiskState::UpToDate) ps_.was_up_to_date = true;
  if (d == DiskState::Outdated || d == DiskState::Inconsistent) ps_.was_up_to_date = false;
  save();
  if (conn_ == ConnState::Connected && handshake_done_) send_state(false);
  fx_->state_changed();
}

NodeView Replica::local_view() const {
  NodeView v;
  v.ids = ps_.ids;
  v.disk = disk_;
  v.role = role_;
  v.crashed_primary = ps_.crashed_primary;
  v.needs_full_sync = ps_.needs_full_sync;
  v.node_id = cfg_.node_id;
  return v;
}

void Replica::send_state(bool handshake) {
  wire::Message m;
  m.type = wire::MsgType::State;
  m.state.role = role_;
  m.state.disk = disk_;
  m.state.protocol = cfg_.protocol;
  m.state.flags = (ps_.crashed_primary ? wire::kStateCrashedPrimary : 0) | (handshake ? wire::kStateIsHandshake : 0) |
                  (ps_.needs_full_sync ? wire::kStateNeedsFullSync : 0) |
                  (discard_my_data_ ? wire::kStateDiscardMyData : 0) |
                  (resync_paused_ && repl_ == ReplState::SyncSource ? wire::kStateResyncPaused : 0) |
                  (ps_.primary_at_split ? wire::kStatePrimaryAtSplit : 0);
  m.state.data_size_bytes = cfg_.data_size_bytes;
  m.state.current_uuid = ps_.ids.current;
  m.state.bitmap_uuid = ps_.ids.bitmap;
  m.state.history = ps_.ids.history;
  m.state.dirty_bytes = bitmap_.dirty_bytes();
  fx_->send(m);
}

void Replica::protocol_error(std::string_view what) {
  log_error("protocol error from peer node {}: {}", cfg_.peer_node_id, what);
  fx_->drop_connection(false, what);
}

void Replica::peer_connected() {
  TANDEM_CHECK(conn_ != ConnState::Connected);
  conn_ = ConnState::Connected;
  repl_ = ReplState::Off;
  handshake_done_ = false;
  split_brain_ = false;
  epoch_++;
  peer_bitmap_received_ = false;
  source_waits_for_bitmap_ = false;
  peer_words_.clear();
  send_state(true);
  send_bitmap();
}

void Replica::peer_message(const wire::Message& m) {
  using wire::MsgType;
  if (conn_ != ConnState::Connected) return;  // late delivery after a disconnect
  if (!handshake_done_ && (m.type == MsgType::BitmapChunk || m.type == MsgType::BitmapDone))
    return;  // follows a handshake this node refused (split brain): the connection is being closed
  if (!handshake_done_ && m.type != MsgType::State) {
    protocol_error(fmt::format("{} message before the handshake State", static_cast<int>(m.type)));
    return;
  }
  switch (m.type) {
    case MsgType::State: on_state(m.state); break;
    case MsgType::Data: on_peer_data(m); break;
    case MsgType::RecvAck: on_write_ack(m.seq_result, true); break;
    case MsgType::WriteAck: on_write_ack(m.seq_result, false); break;
    case MsgType::Flush: on_peer_flush(m.seq_result); break;
    case MsgType::FlushAck: on_flush_ack(m.seq_result); break;
    case MsgType::ResyncData: on_peer_data(m); break;
    case MsgType::ResyncAck: on_resync_ack(m.resync); break;
    case MsgType::SyncStart: on_sync_start(m.sync_start); break;
    case MsgType::SyncDone: on_sync_done(m.uuid); break;
    case MsgType::PromoteRequest: on_promote_request(); break;
    case MsgType::PromoteReply: on_promote_reply(m.granted != 0); break;
    case MsgType::VerifyRequest: on_verify_request(m.verify); break;
    case MsgType::VerifyReply: on_verify_reply(m.verify); break;
    case MsgType::BitmapChunk: on_bitmap_chunk(m.bitmap_chunk); break;
    case MsgType::BitmapDone: on_bitmap_done(m.bitmap_done); break;
    case MsgType::VerifyDone:
      if (repl_ == ReplState::VerifyT) {
        repl_ = ReplState::Established;
        start_pending_resync();
        fx_->state_changed();
      }
      break;
    case MsgType::Invalidate: {
      std::string why = invalidate();
      if (!why.empty()) log_warn("peer asked this node to invalidate its data; refused: {}", why);
      break;
    }
    case MsgType::NewUuid:
      if (disk_ != DiskState::Inconsistent || ps_.ids.current != kUuidJustCreated || role_ == Role::Primary) {
        protocol_error("NewUuid (skip initial sync) while this node is not freshly created");
        break;
      }
      ps_.ids.current = m.uuid;
      ps_.ids.bitmap = 0;
      bitmap_.clear_all();
      persist_bitmap_all();
      log_info("new-current-uuid --clear-bitmap from the peer: initial sync skipped");
      set_disk(DiskState::UpToDate);
      break;
    default: protocol_error(fmt::format("unexpected message type {} in the replication stream", int(m.type)));
  }
}

void Replica::on_state(const wire::StateMsg& s) {
  bool handshake = s.flags & wire::kStateIsHandshake;
  if (handshake == handshake_done_) {
    protocol_error(handshake ? "second handshake State on one connection" : "State update before the handshake");
    return;
  }
  peer_state_ = s;
  peer_role_ = s.role;
  peer_disk_ = s.disk;
  if (handshake) {
    run_handshake();
  } else {
    fx_->state_changed();
  }
  if (handshake_done_ && conn_ == ConnState::Connected && repl_ == ReplState::Established &&
      s.disk == DiskState::UpToDate)
    peer_is_up_to_date_again();
}

void Replica::run_handshake() {
  const wire::StateMsg& s = peer_state_;
  if (s.data_size_bytes != cfg_.data_size_bytes) {
    std::string why = fmt::format("peer's data size {} bytes differs from ours ({} bytes); refusing to connect",
                                  s.data_size_bytes, cfg_.data_size_bytes);
    last_decision_ = why;
    log_error("{}", why);
    fx_->drop_connection(true, why);
    return;
  }
  if (s.protocol != cfg_.protocol) {
    std::string why = fmt::format("peer uses protocol {}, this node protocol {}; refusing to connect", s.protocol,
                                  cfg_.protocol);
    last_decision_ = why;
    log_error("{}", why);
    fx_->drop_connection(true, why);
    return;
  }
  NodeView peer;
  peer.ids.current = s.current_uuid;
  peer.ids.bitmap = s.bitmap_uuid;
  peer.ids.history = s.history;
  peer.disk = s.disk;
  peer.role = s.role;
  peer.crashed_primary = s.flags & wire::kStateCrashedPrimary;
  peer.needs_full_sync = s.flags & wire::kStateNeedsFullSync;
  peer.node_id = cfg_.peer_node_id;

  std::string why;
  SyncDecision d = decide_sync(local_view(), peer, &why);
  if (role_ == Role::Primary && s.role == Role::Primary) {
    d = SyncDecision::SplitBrain;
    why = "both nodes are Primary";
  } else if (is_target(d) && role_ == Role::Primary) {
    d = SyncDecision::SplitBrain;
    why += "; but this node is Primary and cannot become SyncTarget";
  } else if (is_source(d) && s.role == Role::Primary) {
    d = SyncDecision::SplitBrain;
    why += "; but the peer is Primary and cannot become SyncTarget";
  } else if (d == SyncDecision::None && bitmap_.count() > 0 && disk_ >= DiskState::Outdated &&
             s.disk >= DiskState::Outdated && s.role != Role::Primary &&
             (role_ == Role::Primary || s.dirty_bytes == 0 || cfg_.node_id < cfg_.peer_node_id)) {
    // Same generation, but this node has blocks marked for the peer: written by a Primary before the peer
    // received writes, or found by verify. Copy those blocks (if both have marks, the lower node id goes first).
    d = SyncDecision::SourceBitmap;
    why += "; this node has out-of-sync blocks for the peer";
  }
  bool call_pri_lost = false;
  if (d == SyncDecision::SplitBrain) {
    // Recovery: an explicit `connect --discard-my-data` on one side, else the after-sb-* policy.
    bool peer_discards = s.flags & wire::kStateDiscardMyData;
    if (discard_my_data_ && !peer_discards && role_ != Role::Primary) {
      d = SyncDecision::TargetFull;
      why += "; this node was told to discard its data (--discard-my-data)";
    } else if (peer_discards && !discard_my_data_ && s.role != Role::Primary) {
      d = SyncDecision::SourceFull;
      why += "; the peer was told to discard its data (--discard-my-data)";
    } else {
      SplitBrainOutcome o = resolve_split_brain(cfg_.split_brain,
                                                {cfg_.node_id, role_, bitmap_.dirty_bytes(), ps_.primary_at_split},
                                                {cfg_.peer_node_id, s.role, s.dirty_bytes,
                                                 (s.flags & wire::kStatePrimaryAtSplit) != 0});
      why += "; " + o.why;
      call_pri_lost = o.call_pri_lost_after_sb;
      if (o.victim == SplitBrainOutcome::Victim::Local) d = SyncDecision::TargetFull;
      if (o.victim == SplitBrainOutcome::Victim::Peer) d = SyncDecision::SourceFull;
      if (d != SyncDecision::SplitBrain) log_warn("Split-Brain detected, automatically resolved: {}", why);
    }
  }
  discard_my_data_ = false;  // one-shot
  last_decision_ = fmt::format("{}: {}", to_string(d), why);
  log_info("handshake with node {}: {}", cfg_.peer_node_id, last_decision_);

  if (d == SyncDecision::SplitBrain || d == SyncDecision::Unrelated) {
    split_brain_ = d == SyncDecision::SplitBrain;
    if (split_brain_) {
      log_error("Split-Brain detected, dropping connection: {}", why);
      fx_->run_handler("split-brain");
      if (call_pri_lost) fx_->run_handler("pri-lost-after-sb");
    }
    fx_->drop_connection(true, last_decision_);
    return;
  }
  handshake_done_ = true;
  repl_ = ReplState::Established;
  if (d == SyncDecision::None) {
    // Both sides hold the same generation: usable data is now known to be current.
    if (disk_ >= DiskState::Outdated && disk_ != DiskState::UpToDate && s.disk >= DiskState::Outdated)
      set_disk(DiskState::UpToDate);
  } else if (is_source(d)) {
    if (disk_ != DiskState::UpToDate) set_disk(DiskState::UpToDate);
    if (d == SyncDecision::SourceBitmap && !peer_bitmap_received_)
      source_waits_for_bitmap_ = true;  // continued in on_bitmap_done
    else
      begin_sync_source(d == SyncDecision::SourceFull);
  } else {
    // Target: wait for the source's SyncStart, and meanwhile hold nothing we might serve as current.
    repl_ = ReplState::SyncTarget;
    set_disk(DiskState::Inconsistent);
  }
  // The peer is back: writes frozen by fencing complete now (their blocks are marked and resynced).
  if (io_frozen_) unfreeze_io();
  fx_->state_changed();
}

void Replica::peer_disconnected(std::string_view reason) {
  if (conn_ != ConnState::Connected) {
    conn_ = standalone_ ? ConnState::StandAlone : ConnState::Connecting;
    return;
  }
  log_info("connection to node {} lost: {}", cfg_.peer_node_id, reason);
  bool was_synced_peer = handshake_done_;
  Role old_peer_role = peer_role_;
  // A Primary whose peer may hold current data fences it before writing on alone; with resource-and-stonith
  // no write completes meanwhile (not even those in flight now, which the peer may not have).
  const bool fence = role_ == Role::Primary && was_synced_peer && peer_disk_ >= DiskState::Consistent &&
                     needs_fencing();
  if (fence && cfg_.fencing == Fencing::ResourceAndStonith) io_frozen_ = true;
  conn_ = standalone_ ? ConnState::StandAlone : ConnState::Connecting;
  repl_ = ReplState::Off;
  handshake_done_ = false;
  source_waits_for_bitmap_ = false;
  peer_role_ = Role::Unknown;
  peer_disk_ = DiskState::DUnknown;

  // Every write not confirmed on the peer's disk may differ there: remember it in the bitmap.
  for (uint32_t i = 0; i < kMaxAppWrites; i++) {
    AppWrite& w = app_writes_[i];
    if (!w.used || !w.mirrored) continue;
    if (w.acks_pending > 0 || w.recv_acks_pending > 0) bitmap_.set_range(w.offset, w.length);
    w.acks_pending = 0;
    w.recv_acks_pending = 0;
    w.mirrored = false;
    maybe_finish_app_write(i);
  }
  for (uint32_t i = 0; i < kMaxAppFlushes; i++) {
    if (!app_flushes_[i].used) continue;
    app_flushes_[i].remote_pending = false;
    maybe_finish_app_flush(i);
  }
  // Resync reads in flight are dropped when they complete (their epoch is stale); unacknowledged chunks keep
  // their bits set.
  for (auto& r : resync_)
    if (r.state == ResyncSlot::State::WaitAck ||
        (r.state == ResyncSlot::State::Reading && r.csums && r.local_done)) {  // its digests will not come
      r.state = ResyncSlot::State::Free;
      resync_buffers_.put(r.buf);
      r.buf = nullptr;
    }
  peer_flushes_.clear();
  verify_connection_lost();

  if (role_ == Role::Primary) {
    // This node now writes what the peer will not see: a new data generation, with the bitmap tracking it.
    // With writes frozen by fencing nothing is written alone yet: the generation starts when they resume
    // without the peer (DRBD does the same), so a frozen Primary that is then shot does not look like the
    // other half of a split brain to the node that replaced it.
    if (io_frozen_) {
      generation_pending_ = true;
    } else {
      ps_.ids.start_new_generation(fx_->new_uuid());
      ps_.primary_at_split = true;
      save();
    }
    if (fence) start_fencing();
  } else if (was_synced_peer && old_peer_role == Role::Primary && disk_ == DiskState::UpToDate &&
             cfg_.fencing == Fencing::DontCare) {
    // The Primary carries on without us: our data is no longer current. (With fencing, the Primary's
    // fence-peer handler keeps this node from promoting instead, so a crashed Primary can be replaced.)
    set_disk(DiskState::Outdated);
  }
  if (promote_pending_) {
    // The peer is gone before it answered: decide again as a disconnected node (which may mean fencing it
    // first, or waiting for its writes to drain).
    promote_pending_ = false;
    promote(promote_force_);
  }
  fx_->state_changed();
}

std::string Replica::reconfigure(const ReplicaConfig& next) {
  TANDEM_CHECK(next.node_id == cfg_.node_id && next.peer_node_id == cfg_.peer_node_id &&
               next.data_size_bytes == cfg_.data_size_bytes);
  const bool agreed_changes = next.protocol != cfg_.protocol || next.verify_alg != cfg_.verify_alg ||
                              next.csums_alg != cfg_.csums_alg ||
                              next.csums_after_crash_only != cfg_.csums_after_crash_only;
  if (agreed_changes && conn_ == ConnState::Connected)
    return "protocol, verify-alg and csums-alg change only while disconnected";
  const bool resync_changed = !(next.dynamic_resync == cfg_.dynamic_resync) ||
                              next.resync_rate_bytes_per_s != cfg_.resync_rate_bytes_per_s;
  ReplicaConfig merged = next;
  merged.al_extents = cfg_.al_extents;  // the set in memory and the on-disk ring were sized at start
  merged.al_extent_shift = cfg_.al_extent_shift;
  merged.al_last_seq = cfg_.al_last_seq;
  cfg_ = merged;
  if (resync_changed) {
    // A running resync goes on under the new controller, which plans afresh from its next step.
    resync_controller_ = ResyncController(cfg_.dynamic_resync);
    resync_tokens_ = 0;  // no burst saved up under the old settings; the next tick (or step) budgets afresh
  }
  // A resync that waited for tokens (for tick()) may go on at once now, or it would wait for an event that
  // never comes when nothing is in flight (simulator seed 117856: a rate-limited resync set unlimited).
  pump_resync();
  fx_->state_changed();
  return "";
}

void Replica::set_standalone(bool standalone) {
  standalone_ = standalone;
  if (conn_ != ConnState::Connected) conn_ = standalone ? ConnState::StandAlone : ConnState::Connecting;
  if (!standalone) split_brain_ = false;
}

std::string Replica::promotion_refusal(bool force) const {
  if (conn_ == ConnState::Connected && !handshake_done_)
    return "the connection to the peer is being established (handshake in progress); retry";
  if (conn_ == ConnState::Connected && peer_role_ == Role::Primary)
    return "the peer is Primary; demote it first (only one Primary is allowed)";
  if (repl_ == ReplState::SyncTarget)
    return fmt::format("resync in progress, local data is {} until it finishes", to_string(disk_));
  if (disk_ != DiskState::UpToDate && !force)
    return fmt::format("local data is {}, not UpToDate; refusing to promote without --force", to_string(disk_));
  if (disk_ == DiskState::Failed) return "the local disk has failed";
  return "";
}

void Replica::promote(bool force) {
  if (role_ == Role::Primary) {
    fx_->promotion_done(true, "already Primary");
    return;
  }
  if (promote_pending_ || promote_after_drain_ || promote_after_fence_ || promote_flushing_) {
    fx_->promotion_done(false, "a promotion is already in progress");
    return;
  }
  if (!force && conn_ != ConnState::Connected && needs_fencing() &&
      (disk_ == DiskState::UpToDate || disk_ == DiskState::Consistent)) {
    // Alone, with a peer that might hold current data or be promoted itself: fence it first (DRBD does the
    // same; a Consistent node becomes UpToDate once its peer is fenced).
    promote_after_fence_ = true;
    promote_force_ = force;
    start_fencing();
    return;  // continued in fence_peer_done
  }
  std::string why = promotion_refusal(force);
  if (!why.empty()) {
    fx_->promotion_done(false, why);
    return;
  }
  if (conn_ != ConnState::Connected && peer_writes_in_flight_ > 0) {
    promote_after_drain_ = true;
    promote_force_ = force;
    return;  // continued in peer_write_done
  }
  if (conn_ == ConnState::Connected && handshake_done_) {
    // Ask the peer first so two nodes never both become Primary while connected.
    promote_pending_ = true;
    promote_force_ = force;
    wire::Message m;
    m.type = wire::MsgType::PromoteRequest;
    fx_->send(m);
    return;
  }
  become_primary(force);
}

void Replica::cancel_promotion(std::string_view why) {
  if (!promote_pending_ && !promote_after_drain_ && !promote_after_fence_ && !promote_flushing_) return;
  promote_pending_ = false;
  promote_after_drain_ = false;
  promote_after_fence_ = false;
  if (promote_flushing_) promote_flush_cancelled_ = true;  // its completion is then ignored
  promote_flushing_ = false;
  fx_->promotion_done(false, why);
}

void Replica::promote_flush_done(int result) {
  bool cancelled = promote_flush_cancelled_;
  promote_flush_cancelled_ = false;
  if (cancelled) {
    promote_granted_ = false;
    return;
  }
  promote_flushing_ = false;
  if (result < 0) {
    fx_->promotion_done(false, fmt::format("flushing the disk before becoming Primary failed: {}", strerror(-result)));
    return;
  }
  bool granted = promote_granted_;
  promote_granted_ = false;
  if (!granted && conn_ == ConnState::Connected && handshake_done_) {
    // Connected while the flush ran, without the peer's consent: ask it now, like any connected promotion.
    promote(promote_force_);
    return;
  }
  // The state may have changed while the flush ran.
  std::string why = promotion_refusal(promote_force_);
  if (!why.empty()) {
    fx_->promotion_done(false, why);
    return;
  }
  promote_flushed_ = true;
  become_primary(promote_force_);
}

void Replica::become_primary(bool force) {
  if (al_ && !promote_flushed_) {
    // The activity log covers only writes made as Primary. Writes this node received as Secondary may still
    // sit in its disk's volatile cache, and a crash as Primary would lose them unnoticed: flush them first.
    promote_flushing_ = true;
    promote_force_ = force;
    fx_->submit_storage({StorageOpKind::Flush, make_tag(tags::kPromoteFlush, 0), 0, 0, nullptr, false});
    return;  // continued in promote_flush_done
  }
  promote_flushed_ = false;
  bool connected = conn_ == ConnState::Connected && handshake_done_;
  if (disk_ != DiskState::UpToDate) {
    TANDEM_CHECK(force);
    if (ps_.ids.current == kUuidJustCreated || disk_ == DiskState::Inconsistent) {
      // Forced out of Inconsistent data: nothing to track a bitmap against, the peer needs everything.
      ps_.ids.push_history(ps_.ids.current == kUuidJustCreated ? 0 : ps_.ids.current);
      ps_.ids.current = fx_->new_uuid();
      ps_.ids.bitmap = 0;
      bitmap_.set_all();
      persist_bitmap_all();
    } else if (!connected) {
      ps_.ids.start_new_generation(fx_->new_uuid());
      ps_.primary_at_split = false;  // Primary only since the split: the "younger" Primary
    }
    set_disk(DiskState::UpToDate);
  } else if (!connected) {
    ps_.ids.start_new_generation(fx_->new_uuid());
    ps_.primary_at_split = false;
  }
  role_ = Role::Primary;
  ps_.primary = true;
  if (ps_.needs_full_sync) {
    // This node's data is now the reference, but its crash may have changed blocks nobody recorded.
    bitmap_.set_all();
    persist_bitmap_all();
    ps_.needs_full_sync = false;
  }
  save();
  log_info("role Secondary -> Primary{}", force ? " (forced)" : "");
  if (connected) {
    send_state(false);
    if (peer_disk_ <= DiskState::Outdated && repl_ == ReplState::Established) {
      bool bitmap_ok = ps_.ids.bitmap != 0 && peer_state_.current_uuid == ps_.ids.bitmap;
      begin_sync_source(!bitmap_ok);
    }
  }
  fx_->promotion_done(true, "");
  fx_->state_changed();
}

void Replica::on_promote_request() {
  bool grant = role_ != Role::Primary && !(promote_pending_ && cfg_.node_id < cfg_.peer_node_id);
  if (grant && promote_pending_) {
    // Both asked at once; the lower node id wins.
    promote_pending_ = false;
    fx_->promotion_done(false, "the peer is becoming Primary at the same time");
  }
  if (grant) peer_role_ = Role::Primary;  // provisional; its State update follows
  wire::Message m;
  m.type = wire::MsgType::PromoteReply;
  m.granted = grant ? 1 : 0;
  fx_->send(m);
}

void Replica::on_promote_reply(bool granted) {
  if (!promote_pending_) return;
  promote_pending_ = false;
  if (!granted) {
    fx_->promotion_done(false, "the peer is Primary (or becoming Primary); only one Primary is allowed");
    return;
  }
  std::string why = promotion_refusal(promote_force_);
  if (!why.empty()) {
    fx_->promotion_done(false, why);
    return;
  }
  promote_granted_ = true;
  become_primary(promote_force_);
}

std::string Replica::demote(int device_open_count) {
  if (role_ != Role::Primary) return "";
  if (device_open_count > 0)
    return fmt::format("the device is held open ({} opener{}); unmount or close it first", device_open_count,
                       device_open_count == 1 ? "" : "s");
  bool unacked = false;  // protocol A/B: completed writes the peer has not confirmed yet
  for (const AppWrite& w : app_writes_) unacked |= w.used;
  if (app_writes_in_flight_ > 0 || !waiting_.empty() || unacked) return "application I/O is still in flight; retry";
  role_ = Role::Secondary;
  ps_.primary = false;
  save();
  log_info("role Primary -> Secondary");
  if (conn_ == ConnState::Connected && handshake_done_) send_state(false);
  fx_->state_changed();
  return "";
}

bool Replica::idle() const {
  if (app_writes_in_flight_ > 0 || !waiting_.empty() || peer_writes_in_flight_ > 0 || !peer_flushes_.empty())
    return false;
  for (const auto& f : app_flushes_)
    if (f.used) return false;
  for (const auto& r : resync_)
    if (r.state != ResyncSlot::State::Free) return false;
  for (const auto& v : verify_)
    if (v.used) return false;
  for (const auto& p : peer_verify_)
    if (p.used) return false;
  return true;
}

ReplicaStatus Replica::status() const {
  ReplicaStatus s = counters_;
  s.role = role_;
  s.disk = disk_;
  s.conn = conn_;
  s.repl = repl_;
  s.peer_role = peer_role_;
  s.peer_disk = peer_disk_;
  s.ids = ps_.ids;
  s.out_of_sync_bytes = bitmap_.dirty_bytes();
  s.resync_total_bytes = resync_total_bytes_;
  s.resync_done_bytes = resync_done_bytes_;
  s.app_writes_in_flight = app_writes_in_flight_;
  s.suspended_split_brain = split_brain_;
  s.suspended_fencing = io_frozen_;
  s.suspended_user = io_suspended_user_;
  s.fencing_in_progress = fence_pending_;
  // PausedSyncS on the source, PausedSyncT on the target (told by the source's State).
  s.resync_paused = repl_ == ReplState::SyncSource   ? resync_paused_
                    : repl_ == ReplState::SyncTarget ? (peer_state_.flags & wire::kStateResyncPaused) != 0
                                                     : false;
  s.resync_rate_bytes_per_s =
      repl_ == ReplState::SyncSource || repl_ == ReplState::SyncTarget ? resync_rate_measured_ : 0;
  s.last_decision = last_decision_;
  if (al_) {
    s.al_extents = al_->slots();
    s.al_active = al_->used();
    s.al_transactions = al_->transactions();
    s.al_waits = al_waits_;
  }
  if (repl_ == ReplState::SyncTarget) s.out_of_sync_bytes = peer_state_.dirty_bytes;
  return s;
}

}  // namespace tandem

namespace tandem {

std::string Replica::invalidate() {
  if (role_ == Role::Primary) return "cannot invalidate the data of a Primary; demote it first";
  if (repl_ == ReplState::SyncTarget) return "already SyncTarget";
  ps_.needs_full_sync = true;
  set_disk(DiskState::Inconsistent);
  log_info("invalidated: local data will be replaced by a full resync from the peer");
  // Reconnect so the handshake starts the resync.
  if (conn_ == ConnState::Connected) fx_->drop_connection(false, "invalidate: resync from the peer");
  return "";
}

std::string Replica::invalidate_remote() {
  if (conn_ != ConnState::Connected || !handshake_done_) return "not connected to the peer";
  if (peer_role_ == Role::Primary) return "the peer is Primary; its data cannot be invalidated";
  if (disk_ != DiskState::UpToDate) return fmt::format("local data is {}, not UpToDate", to_string(disk_));
  if (repl_ != ReplState::Established) return "a resync is already running";
  wire::Message m;
  m.type = wire::MsgType::Invalidate;
  fx_->send(m);
  return "";
}

std::string Replica::outdate() {
  if (role_ == Role::Primary) return "cannot outdate a Primary";
  if (disk_ == DiskState::Outdated) return "";
  if (disk_ != DiskState::UpToDate && disk_ != DiskState::Consistent)
    return fmt::format("local data is {}; only UpToDate or Consistent data can be outdated", to_string(disk_));
  set_disk(DiskState::Outdated);
  return "";
}

std::string Replica::new_current_uuid(bool clear_bitmap) {
  if (clear_bitmap) {
    if (conn_ != ConnState::Connected || !handshake_done_) return "--clear-bitmap needs the peer connected";
    if (disk_ != DiskState::Inconsistent || ps_.ids.current != kUuidJustCreated ||
        peer_disk_ != DiskState::Inconsistent || peer_state_.current_uuid != kUuidJustCreated)
      return "--clear-bitmap only skips the initial sync of two freshly created nodes (both Inconsistent)";
    if (role_ == Role::Primary || peer_role_ == Role::Primary) return "--clear-bitmap needs both nodes Secondary";
    uint64_t u = fx_->new_uuid();
    wire::Message m;
    m.type = wire::MsgType::NewUuid;
    m.uuid = u;
    fx_->send(m);
    ps_.ids.current = u;
    ps_.ids.bitmap = 0;
    bitmap_.clear_all();
    persist_bitmap_all();
    log_info("new-current-uuid --clear-bitmap: both nodes declared UpToDate without the initial sync");
    set_disk(DiskState::UpToDate);
    return "";
  }
  if (disk_ != DiskState::UpToDate) return fmt::format("local data is {}, not UpToDate", to_string(disk_));
  if (conn_ == ConnState::Connected && handshake_done_)
    return "new-current-uuid without --clear-bitmap is for a disconnected node (e.g. before shipping a disk copy)";
  ps_.ids.start_new_generation(fx_->new_uuid());
  ps_.primary_at_split = false;
  save();
  return "";
}

}  // namespace tandem
