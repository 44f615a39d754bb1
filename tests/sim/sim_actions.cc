// World: the random workload (application writes, reads, flushes) and admin actions (promote, demote, link
// cuts, crashes, restarts, clean down/up, split-brain resolution), each as the daemon would perform it.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>

#include "core/attach.h"
#include "tests/sim/sim_world.h"

namespace tandem::sim {
namespace {

constexpr size_t kMaxOpsPerNode = 12;

void app_done(IoRequest* r, int result) {
  auto* op = static_cast<AppOp*>(r->frontend_ctx);
  op->world->on_app_complete(op, result);
}

bool receiving(const Replica& r) {
  ReplicaStatus s = r.status();
  return s.conn == ConnState::Connected && (s.repl == ReplState::Established || s.repl == ReplState::SyncSource);
}

bool usable(DiskState d) { return d >= DiskState::Outdated && d != DiskState::DUnknown; }

}  // namespace

void World::random_action() {
  int n = static_cast<int>(rng_.below(2));
  Node& x = *nodes_[n];
  bool any_usable = false;
  for (auto& m : nodes_) any_usable |= m->up() && usable(m->replica->disk());
  uint64_t r = rng_.below(100);
  if (r < 45) {
    if (x.up() && (x.replica->role() == Role::Primary || rng_.chance(0.05))) issue_write(n);
  } else if (r < 53) {
    if (x.up()) issue_read(n);
  } else if (r < 60) {
    if (x.up() && x.replica->role() == Role::Primary) issue_flush(n);
  } else if (r < 68) {
    promote(n, !any_usable || rng_.chance(0.25));
  } else if (r < 73) {
    demote(n);
  } else if (r < 77) {
    net_.set_cut(!net_.cut());
    trace("admin: network {}", net_.cut() ? "partitioned" : "healed");
    if (net_.cut()) drop_connection("network partition");
  } else if (r < 80) {
    drop_connection("keepalive timeout");
  } else if (r < 84) {
    crash(n);
  } else if (r < 93) {
    restart(n);
  } else if (r < 95) {
    clean_down(n);
  } else if (r < 96) {
    if (x.up()) {
      std::string why = x.replica->start_verify();
      trace("admin: node {} verify{}", n, why.empty() ? "" : ": refused: " + why);
    }
  } else if (r < 97) {
    // invalidate on a connected, in-sync Secondary: it reconnects and is fully resynced from the peer.
    if (x.up() && x.replica->role() == Role::Secondary) {
      ReplicaStatus st = x.replica->status();
      if (st.repl == ReplState::Established && st.disk == DiskState::UpToDate && st.peer_disk == DiskState::UpToDate) {
        std::string why = x.replica->invalidate();
        trace("admin: node {} invalidate{}", n, why.empty() ? "" : ": refused: " + why);
      }
    }
  } else if (r < 98) {
    adjust(n);
  } else {
    resolve_standalone();
  }
}

void World::adjust(int n) {
  Node& x = *nodes_[n];
  if (!x.up()) return;
  ReplicaConfig next = x.replica->config();
  std::string what;
  switch (rng_.below(3)) {
    case 0:  // a fixed rate, or none
      next.dynamic_resync = ResyncControlConfig{};
      next.resync_rate_bytes_per_s = rng_.chance(0.3) ? 0 : rng_.between(1, 64) << 20;
      what = fmt::format("resync-rate {} MiB/s", next.resync_rate_bytes_per_s >> 20);
      break;
    case 1: {  // the dynamic controller
      ResyncControlConfig& d = next.dynamic_resync;
      next.resync_rate_bytes_per_s = 0;
      d = ResyncControlConfig{};
      d.dynamic = true;
      d.fixed_rate_bytes_per_s = rng_.between(1, 8) << 20;
      d.plan_ahead_steps = static_cast<uint32_t>(rng_.between(1, 30));
      d.fill_target_bytes = rng_.chance(0.5) ? rng_.between(1, 64) * kBlockBytes : 0;
      d.delay_target_steps = d.fill_target_bytes ? 0 : static_cast<uint32_t>(rng_.between(1, 10));
      d.max_rate_bytes_per_s = rng_.between(1, 64) << 20;
      d.min_rate_bytes_per_s = rng_.between(1, 4) << 18;
      what = fmt::format("c-plan-ahead {} c-fill-target {} c-delay-target {} c-max-rate {} MiB/s", d.plan_ahead_steps,
                         d.fill_target_bytes, d.delay_target_steps, d.max_rate_bytes_per_s >> 20);
      break;
    }
    default:  // refused while connected: the daemon disconnects first (not modelled here)
      next.csums_alg = next.csums_alg == DigestAlg::None ? DigestAlg::Crc32c : DigestAlg::None;
      what = fmt::format("csums-alg {}", next.csums_alg == DigestAlg::None ? "none" : "crc32c");
      break;
  }
  std::string why = x.replica->reconfigure(next);
  trace("admin: node {} adjust {}{}", n, what, why.empty() ? "" : ": refused: " + why);
  if (why.empty()) adjusted_[n] = next;
}

void World::issue_write(int n) {
  Node& x = *nodes_[n];
  if (x.ops.size() >= kMaxOpsPerNode) return;
  uint64_t blocks = x.disk.blocks();
  uint64_t len = rng_.between(1, 8);
  uint64_t start = rng_.below(blocks - len + 1);
  auto op = std::make_unique<AppOp>();
  op->world = this;
  op->node = n;
  op->id = next_op_id_++;
  op->buf.resize(len * kBlockBytes);
  for (uint64_t i = 0; i < len; i++) {
    uint64_t v = next_version_++;
    op->versions.push_back(v);
    fill_block(v, &op->buf[i * kBlockBytes]);
    model_[0].issue(start + i, v);
    model_[1].issue(start + i, v);
  }
  op->req.op = IoOp::Write;
  op->req.offset = start * kBlockBytes;
  op->req.length = static_cast<uint32_t>(len * kBlockBytes);
  op->req.fua = rng_.chance(0.2);
  op->req.data = op->buf.data();
  op->req.on_complete = &app_done;
  op->req.frontend_ctx = op.get();
  op->mirrored = receiving(*x.replica);
  op->net_epoch = net_.epoch();
  op->issued_as_primary = x.replica->role() == Role::Primary;
  if (op->issued_as_primary) gens_.note_write(gen_[n]);
  trace("app: node {} write #{} blocks {}+{} versions {}..{}{}{}", n, op->id, start, len, op->versions.front(),
        op->versions.back(), op->req.fua ? " fua" : "", op->mirrored ? " mirrored" : "");
  AppOp* raw = op.get();
  x.ops.push_back(std::move(op));
  x.replica->app_request(&raw->req);
}

void World::issue_read(int n) {
  Node& x = *nodes_[n];
  if (x.ops.size() >= kMaxOpsPerNode) return;
  uint64_t blocks = x.disk.blocks();
  uint64_t len = rng_.between(1, 8);
  uint64_t start = rng_.below(blocks - len + 1);
  auto op = std::make_unique<AppOp>();
  op->world = this;
  op->node = n;
  op->id = next_op_id_++;
  op->buf.assign(len * kBlockBytes, 0xAA);
  op->req.op = IoOp::Read;
  op->req.offset = start * kBlockBytes;
  op->req.length = static_cast<uint32_t>(len * kBlockBytes);
  op->req.data = op->buf.data();
  op->req.on_complete = &app_done;
  op->req.frontend_ctx = op.get();
  // The model describes this node's data only while it is consistent and not being resynced.
  op->check_read = usable(x.replica->disk()) && x.replica->status().repl != ReplState::SyncTarget;
  if (op->check_read)
    for (uint64_t i = 0; i < len; i++) op->read_allowed.push_back(model_[n].allowed(start + i));
  op->read_max_version = next_version_ - 1;
  trace("app: node {} read #{} blocks {}+{}", n, op->id, start, len);
  AppOp* raw = op.get();
  x.ops.push_back(std::move(op));
  x.replica->app_request(&raw->req);
}

void World::issue_flush(int n) {
  Node& x = *nodes_[n];
  if (x.ops.size() >= kMaxOpsPerNode) return;
  auto op = std::make_unique<AppOp>();
  op->world = this;
  op->node = n;
  op->id = next_op_id_++;
  op->req.op = IoOp::Flush;
  op->req.on_complete = &app_done;
  op->req.frontend_ctx = op.get();
  op->floors_self = model_[n].floors();
  op->floors_peer = model_[1 - n].floors();
  op->mirrored = receiving(*x.replica);
  op->net_epoch = net_.epoch();
  trace("app: node {} flush #{}{}", n, op->id, op->mirrored ? " mirrored" : "");
  AppOp* raw = op.get();
  x.ops.push_back(std::move(op));
  x.replica->app_request(&raw->req);
}

void World::on_app_complete(AppOp* op, int result) {
  op->done = true;
  int n = op->node;
  trace("app: node {} #{} completed: {}", n, op->id, result);
  bool same_connection = op->mirrored && net_.connected() && net_.epoch() == op->net_epoch;
  switch (op->req.op) {
    case IoOp::Write: {
      if (result != 0) {
        if (op->issued_as_primary && opt_.io_error_rate == 0)
          fail(fmt::format("node {}: write #{} on the Primary failed with {} on a fault-free run", n, op->id, result));
        return;
      }
      if (!op->issued_as_primary) fail(fmt::format("node {}: a write issued on a Secondary succeeded", n));
      stats_.writes_acked++;
      writes_since_identical_check_++;
      uint64_t first = op->req.offset / kBlockBytes;
      for (size_t i = 0; i < op->versions.size(); i++) {
        model_[n].acked(first + i, op->versions[i], op->req.fua);
        // Protocol C: acknowledged only after the peer's disk completed it (FUA is passed on).
        if (same_connection) model_[1 - n].acked(first + i, op->versions[i], op->req.fua);
      }
      return;
    }
    case IoOp::Flush:
      if (result != 0) return;
      model_[n].flushed(op->floors_self);
      if (same_connection) model_[1 - n].flushed(op->floors_peer);
      return;
    case IoOp::Read: {
      if (result != 0 || !op->check_read) return;
      stats_.reads_checked++;
      uint64_t first = op->req.offset / kBlockBytes;
      for (size_t i = 0; i < op->read_allowed.size(); i++) {
        const uint8_t* blk = &op->buf[i * kBlockBytes];
        uint64_t v = block_version(blk);
        const auto& ok = op->read_allowed[i];
        bool allowed = v > op->read_max_version || std::find(ok.begin(), ok.end(), v) != ok.end();
        if (!allowed || !block_matches(v, blk))
          fail(fmt::format("checker 1 (reads): node {} read #{} returned version {} for block {} ({}); allowed "
                           "when issued: [{}]",
                           n, op->id, v, first + i, block_matches(v, blk) ? "intact" : "torn/garbage",
                           fmt::join(ok, " ")));
      }
      return;
    }
    default: return;
  }
}

void World::promote(int n, bool force) {
  Node& x = *nodes_[n];
  if (!x.up() || x.promoting) return;
  if (constraint_[n] && !force) return;  // the cluster manager does not promote a fenced node
  x.promoting = true;
  x.promote_force = force;
  x.promote_pre_disk = x.replica->disk();
  trace("admin: node {} primary{} (disk {})", n, force ? " --force" : "", to_string(x.promote_pre_disk));
  x.replica->promote(force);
}

void World::demote(int n) {
  Node& x = *nodes_[n];
  if (!x.up() || x.replica->role() != Role::Primary || !x.ops.empty()) return;
  trace("admin: node {} secondary", n);
  std::string why = x.replica->demote(0);
  if (!why.empty()) fail(fmt::format("node {}: demote without application I/O in flight refused: {}", n, why));
}

void World::crash(int n) {
  Node& x = *nodes_[n];
  if (!x.up()) return;
  trace("admin: node {} CRASHES ({} app requests die with it)", n, x.ops.size());
  check_al_coverage(n, "at a crash");
  stats_.crashes++;
  drop_connection(fmt::format("node {} crashed", n), n);
  if (!opt_.secondary_cache_loss && x.replica->role() != Role::Primary) {
    x.disk.sync_all();
    model_[n].flushed(model_[n].floors());
  }
  x.disk.crash(&rng_);
  if (x.al_pending) {
    // An activity-log transaction in flight: the slot may be untouched, written, or torn (the newest slot of
    // the ring; recovery must cope). The write it admits was never issued.
    uint64_t fate = rng_.below(3);
    uint8_t* slot = &x.meta.al_ring[(x.al_pending->tx.seq % meta::kAlSlots) * meta::kAlSlotBytes];
    if (fate >= 1) x.write_al_transaction(x.al_pending->tx);
    if (fate == 2) std::memset(slot + meta::kAlSlotBytes / 2, 0xA5, meta::kAlSlotBytes / 2);
    trace("node {}: activity-log transaction {} in flight at the crash: {}", n, x.al_pending->tx.seq,
          fate == 0 ? "not written" : fate == 1 ? "written" : "torn");
    x.al_pending.reset();
  }
  model_[n].crashed();
  x.replica.reset();
  x.ops.clear();
  x.promoting = false;
  fence_at_us_[n] = 0;  // its fence-peer handler dies with it
  fork_pending_[n] = false;
}

void World::restart(int n) {
  Node& x = *nodes_[n];
  if (x.up()) return;
  // The daemon's attach rules (core/attach.h), exactly as Resource::start applies them.
  bool clean = x.meta.clean;
  AlOnDisk al{x.meta.al_kept, meta::recover_al(x.meta.al_ring)};
  AttachPlan plan = plan_attach(x.meta.ps, clean, al);
  const PersistentState& ps = plan.state;
  ReplicaConfig cfg;
  cfg.node_id = static_cast<uint32_t>(n);
  cfg.peer_node_id = static_cast<uint32_t>(1 - n);
  cfg.data_size_bytes = size_bytes_;
  cfg.csums_alg = csums_alg_;
  cfg.fencing = fencing_;
  if (const std::optional<ReplicaConfig>& a = adjusted_[n]) {  // its resource file as `adjust` left it
    cfg.resync_rate_bytes_per_s = a->resync_rate_bytes_per_s;
    cfg.dynamic_resync = a->dynamic_resync;
    cfg.csums_alg = a->csums_alg;
  }
  cfg.al_extents = al_extents_;
  cfg.al_extent_shift = al_shift_ ? al_shift_ : meta::kAlExtentShift;
  cfg.al_last_seq = al.ring.last_seq;
  x.replica = std::make_unique<Replica>(cfg, ps, &x);
  bool mark_all = plan.mark_all_out_of_sync;
  if (mark_all) {
    x.replica->mark_all_out_of_sync();
  } else {
    if (!x.meta.bitmap.empty()) x.replica->load_bitmap(x.meta.bitmap);
    x.replica->mark_extents_out_of_sync(plan.mark_extents);
  }
  if (!clean && !mark_all && al.kept) stats_.al_bounded_restarts++;
  if (!plan.note.empty()) trace("node {}: {}", n, plan.note);
  // As Resource::start: marks to the on-disk bitmap, a fresh AL ring, then the superblock says the AL is kept.
  x.replica->start_activity_log();
  x.meta.al_kept = al_extents_ > 0;
  x.persist(x.replica->persistent());
  x.replica->set_standalone(false);
  x.last_disk = x.replica->disk();
  trace("admin: node {} up ({}{}{}), disk {}", n, clean ? "clean start" : "after a crash",
        ps.crashed_primary ? ", crashed primary" : "", mark_all ? ", all blocks out of sync" : "",
        to_string(x.last_disk));
}

void World::clean_down(int n) {
  Node& x = *nodes_[n];
  if (!x.up() || !x.ops.empty()) return;
  trace("admin: node {} down", n);
  if (x.replica->role() == Role::Primary) {
    std::string why = x.replica->demote(0);
    if (!why.empty()) fail(fmt::format("node {}: demote for down refused without app I/O: {}", n, why));
  }
  drop_connection(fmt::format("node {} going down", n));
  while (!x.disk.pending().empty() || x.al_pending) {
    if (x.al_pending) {
      al_done(n);
      continue;
    }
    size_t i = static_cast<size_t>(x.disk.next_index());
    uint64_t tag = x.disk.pending()[i].op.tag;
    int result = x.disk.complete(i, &rng_, 0);
    x.replica->storage_done(tag, result);
  }
  drop_pending_ = false;
  observe_states();  // a resync may have finished while draining
  if (!x.replica->idle()) trace("node {}: WARNING: not idle after draining its disk", n);
  x.disk.sync_all();
  model_[n].flushed(model_[n].floors());
  x.meta.bitmap = x.replica->bitmap().words();
  x.meta.ps = x.replica->persistent();
  x.meta.clean = true;
  x.replica.reset();
  x.promoting = false;
  fence_at_us_[n] = 0;  // a handler still running answers nobody
  fork_pending_[n] = false;
  stats_.clean_downs++;
}

// Split brain (or unrelated data) leaves both nodes StandAlone. `connect --discard-my-data` does not exist yet,
// so the admin recreates the victim's metadata (create-md): it comes back Inconsistent and gets a full sync.
void World::resolve_standalone() {
  int standalone = -1;
  for (int n = 0; n < 2; n++) {
    if (!nodes_[n]->up()) return;
    if (nodes_[n]->replica->status().conn == ConnState::StandAlone) standalone = n;
  }
  if (standalone < 0) return;
  int victim = static_cast<int>(rng_.below(2));
  for (int n = 0; n < 2; n++)
    if (nodes_[n]->replica->role() == Role::Primary) victim = 1 - n;
  Node& v = *nodes_[victim];
  if (!v.ops.empty()) return;
  trace("admin: resolving StandAlone: node {} discards its data (create-md), node {} keeps its data", victim,
        1 - victim);
  clean_down(victim);
  v.meta = PersistedMeta{};
  gen_[victim] = GenTree::kRoot;
  reset_model_to_disk(victim);
  restart(victim);
  nodes_[1 - victim]->replica->set_standalone(false);
}

void World::reset_model_to_disk(int n) {
  const SimDisk& d = nodes_[n]->disk;
  for (uint64_t b = 0; b < d.blocks(); b++) {
    std::vector<uint64_t> v;
    for (const uint8_t* c : d.possible_contents(b)) v.push_back(block_version(c));
    model_[n].reset_block(b, v);
  }
}

void World::heal() {
  if (net_.cut()) {
    net_.set_cut(false);
    trace("admin: network healed");
  }
  for (int n = 0; n < 2; n++) restart(n);
  // A Primary frozen by fencing whose handler could not fence the peer stays frozen until an admin acts (in
  // production STONITH would have shot it): release its writes, as `tandemadm resume-io` does.
  for (int n = 0; n < 2; n++) {
    Node& x = *nodes_[n];
    if (x.up() && x.replica->status().suspended_fencing && fence_at_us_[n] == 0) {
      trace("admin: node {} resume-io", n);
      x.replica->resume_io();
    }
  }
  // Writes resume-io just completed are done now; drop them as after_event() does, or resolve_standalone()
  // would wait for them forever when no event follows (seed 205940).
  for (auto& x : nodes_)
    std::erase_if(x->ops, [](const std::unique_ptr<AppOp>& op) { return op->done; });
  resolve_standalone();
}

}  // namespace tandem::sim
