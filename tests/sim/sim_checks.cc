// World: the checkers. Each failure names the invariant and the evidence; the driver adds seed and replay.
//  1. Acknowledged writes survive: every consistent node's blocks hold a version its model allows (and reads
//     return such versions); checked periodically, after resyncs, promotions and at the end.
//  2. After a resync completes and nothing is in flight, both replicas are byte-identical.
//  3. A handshake reports split brain (or unrelated data) exactly when both sides hold usable data from
//     lineages that diverged; a resync never overwrites a lineage that is not an ancestor of the source's.
//  4. No promotion without --force succeeds unless the data was UpToDate.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>

#include "core/replica_tags.h"
#include "wire/codec.h"
#include "tests/sim/sim_world.h"

namespace tandem::sim {
namespace {
bool usable(DiskState d) { return d >= DiskState::Outdated && d != DiskState::DUnknown; }
}  // namespace

void World::fail(const std::string& what) { throw SimFailure(what); }

void World::check_node_data(int n, bool full, const char* when) {
  Node& x = *nodes_[n];
  if (!x.up()) return;
  ReplicaStatus s = x.replica->status();
  if (!usable(s.disk) || s.repl == ReplState::SyncTarget) return;
  for (uint64_t b = 0; b < x.disk.blocks(); b++) {
    const uint8_t* blk = x.disk.block(b);
    uint64_t v = block_version(blk);
    if (!model_[n].allows(b, v))
      fail(fmt::format("checker 1 (acknowledged writes) {}: node {} ({} {} {}) block {} holds version {}; model: {}",
                       when, n, to_string(s.role), to_string(s.disk), to_string(s.repl), b, v,
                       model_[n].describe(b)));
    if (full && !block_matches(v, blk))
      fail(fmt::format("checker 1 {}: node {} block {} is torn or garbage (first word {})", when, n, b, v));
  }
}

void World::check_identical(const char* when) {
  stats_.identical_checks++;
  const auto& a = nodes_[0]->disk.contents();
  const auto& b = nodes_[1]->disk.contents();
  for (uint64_t blk = 0; blk < a.size() / kBlockBytes; blk++) {
    if (std::memcmp(&a[blk * kBlockBytes], &b[blk * kBlockBytes], kBlockBytes) != 0)
      fail(fmt::format("checker 2 (identical replicas) {}: block {} differs: node 0 has version {}, node 1 "
                       "version {}; models: [{}] / [{}]",
                       when, blk, block_version(&a[blk * kBlockBytes]), block_version(&b[blk * kBlockBytes]),
                       model_[0].describe(blk), model_[1].describe(blk)));
  }
  check_node_data(0, true, when);
  check_node_data(1, true, when);
  trace("check: replicas identical ({})", when);
}

void World::deliver_handshake(int n, const wire::Message& m, int peer_gen) {
  Replica& r = *nodes_[n]->replica;
  bool local_usable = usable(r.disk());
  bool peer_usable = usable(m.state.disk);
  int a = gen_[n], b = peer_gen;
  bool related = gens_.ancestor_or_equal(a, b) || gens_.ancestor_or_equal(b, a);
  bool expect_diverged = local_usable && peer_usable && !related;
  usable_at_handshake_[n] = local_usable;
  r.peer_message(m);
  ReplicaStatus s = r.status();
  bool sb = s.suspended_split_brain;
  bool unrelated = s.last_decision.rfind("unrelated-data", 0) == 0;
  trace("handshake at node {}: lineages {} / peer {}, usable {} / {}, uuids {:X}/{:X}/{:X} peer {:X}/{:X}/{:X}: {}", n,
        a, b, local_usable, peer_usable, s.ids.current, s.ids.bitmap, s.ids.history[0], m.state.current_uuid,
        m.state.bitmap_uuid, m.state.history[0], s.last_decision);
  if (expect_diverged && !sb && !unrelated)
    fail(fmt::format("checker 3 (split brain): node {} (lineage {}) and its peer (lineage {}) both hold data "
                     "written apart since lineage {}, but the handshake decided: {}",
                     n, a, b, gens_.lca(a, b), s.last_decision));
  // Two Primaries never connect (only one may be Primary), whatever their lineages: with fencing a frozen
  // Primary keeps its lineage while a forced promotion of the peer starts a newer one.
  bool both_primary = r.role() == Role::Primary && m.state.role == Role::Primary;
  // Nor is a Primary resynced under its users: a frozen Primary whose peer was promoted with --force meanwhile
  // holds the older lineage, and the connection is refused (as DRBD's "I shall become SyncTarget, but I am
  // primary!").
  bool primary_would_be_target = s.last_decision.find("is Primary and cannot become SyncTarget") != std::string::npos;
  if (!expect_diverged && (sb || unrelated) && !both_primary && !primary_would_be_target)
    fail(fmt::format("checker 3 (split brain): node {} reported '{}' but the lineages are related ({} / {}) or "
                     "one side has no usable data (usable {} / {})",
                     n, s.last_decision, a, b, local_usable, peer_usable));
  if (sb || unrelated) {
    (sb ? stats_.split_brains : stats_.unrelated)++;
    int c = gens_.lca(a, b);
    if (sb && (gens_.writes_since(c, a) == 0 || gens_.writes_since(c, b) == 0))
      stats_.split_brains_one_side_unwritten++;
  }
}

void World::on_promotion_done(int n, bool ok, std::string_view message) {
  Node& x = *nodes_[n];
  bool force = x.promote_force;
  DiskState pre = x.promote_pre_disk;
  bool was_pending = x.promoting;
  x.promoting = false;
  ReplicaStatus s = x.replica->status();
  trace("node {}: promotion {}{}{}", n, ok ? "done" : "refused", message.empty() ? "" : ": ", message);
  if (!was_pending) fail(fmt::format("node {}: promotion_done without a promotion in progress", n));
  if (!ok || message == "already Primary") return;
  // Checker 4. With fencing, Consistent data (UpToDate before a restart, peer unknown) may be promoted once the
  // fence-peer handler has kept the peer from promoting, as in DRBD.
  bool fenced_consistent = fencing_ != Fencing::DontCare && pre == DiskState::Consistent;
  if (!force && pre != DiskState::UpToDate && !fenced_consistent)
    fail(fmt::format("checker 4 (promotion): node {} became Primary without --force with {} data", n,
                     to_string(pre)));
  if (s.role != Role::Primary || s.disk != DiskState::UpToDate)
    fail(fmt::format("checker 4 (promotion): node {} promotion reported done but it is {} with {} data", n,
                     to_string(s.role), to_string(s.disk)));
  stats_.promotions++;
  if (force && pre != DiskState::UpToDate) stats_.forced_promotions++;
  if (pre == DiskState::Inconsistent) {
    // Forced out of half-synced data: the model starts over from what the disk holds.
    reset_model_to_disk(n);
    fork_generation(n, "forced promotion of Inconsistent data");
  } else if (s.repl == ReplState::Off) {
    fork_generation(n, "promoted while not connected");
  }
  x.last_disk = s.disk;
  check_node_data(n, true, "after promotion");
}

void World::check_sync_finished(int n) {
  ReplicaStatus s = nodes_[n]->replica->status();
  auto it = sync_snapshots_.find(s.ids.current);
  if (it == sync_snapshots_.end())
    fail(fmt::format("node {} became UpToDate from Inconsistent with UUID {:016X}, but no SyncDone carried it", n,
                     s.ids.current));
  const SyncSnapshot& snap = it->second;
  if (usable_at_handshake_[n] && !gens_.ancestor_or_equal(gen_[n], snap.gen))
    fail(fmt::format("checker 3 (lineage): node {} (lineage {}) was resynced from lineage {}, which does not "
                     "descend from it: its own writes were overwritten",
                     n, gen_[n], snap.gen));
  stats_.resyncs++;
  trace("model: node {} resync finished, adopts lineage {}", n, snap.gen);
  model_[n].sync_from(snap.model, snap.max_version);
  gen_[n] = snap.gen;
  check_node_data(n, true, "after resync");
}

void World::check_al_coverage(int n, const char* when) {
  Node& x = *nodes_[n];
  if (!x.up() || al_extents_ == 0 || !x.meta.al_kept) return;
  stats_.al_checks++;
  meta::AlRecovery rec = meta::recover_al(x.meta.al_ring);
  if (!rec.ok) fail(fmt::format("checker 5 (activity log) {}: node {}'s AL ring does not read back: {}", when, n, rec.problem));
  const uint64_t blocks = x.disk.blocks();
  std::vector<bool> covered(blocks, false);
  const uint64_t per_extent = (1ull << al_shift_) / kBlockBytes;
  for (uint32_t e : rec.extents)
    for (uint64_t b = uint64_t(e) * per_extent; b < (uint64_t(e) + 1) * per_extent && b < blocks; b++) covered[b] = true;
  for (uint64_t b = 0; b < blocks && b / 64 < x.meta.bitmap.size(); b++)
    if (x.meta.bitmap[b / 64] & (1ull << (b % 64))) covered[b] = true;
  auto need = [&](uint64_t first, uint64_t count, const std::string& what) {
    for (uint64_t b = first; b < first + count && b < blocks; b++)
      if (!covered[b])
        fail(fmt::format("checker 5 (activity log) {}: node {} block {} ({}) may differ after a crash but is in "
                         "neither its on-disk activity log [{}] nor its on-disk bitmap",
                         when, n, b, what, fmt::join(rec.extents, " ")));
  };
  // Application writes on their way to this node's disk.
  for (const SimDisk::Pending& p : x.disk.pending())
    if (tags::kind(p.op.tag) == tags::kAppWrite)
      need(p.op.offset / kBlockBytes, (p.op.length + kBlockBytes - 1) / kBlockBytes, "local write in flight");
  // Its writes on their way to the peer, or in the peer's disk queue.
  if (net_.connected())
    for (const Frame& f : net_.queue(n)) {
      wire::FrameHeader h;
      wire::Message m;
      std::string err;
      if (!wire::decode_header(f.bytes.data(), &h, &err) || h.type != wire::MsgType::Data) continue;
      if (!wire::decode_payload(h, f.bytes.data() + wire::kHeaderSize, &m, &err)) continue;
      need(m.data.offset / kBlockBytes, (m.data.length + kBlockBytes - 1) / kBlockBytes, "mirrored write in flight");
    }
  Node& peer = *nodes_[1 - n];
  // (Only while the peer is Established: a SyncTarget's disk writes, or those left from an earlier connection,
  // may be resync data, which the source tracks in its bitmap until acknowledged
  // — or whose blocks an acknowledged oversize write has just made identical.)
  if (peer.up() && x.replica->role() == Role::Primary && net_.connected() &&
      peer.replica->status().repl == ReplState::Established)
    for (const SimDisk::Pending& p : peer.disk.pending())
      if (tags::kind(p.op.tag) == tags::kPeerWrite)
        need(p.op.offset / kBlockBytes, (p.op.length + kBlockBytes - 1) / kBlockBytes, "peer writing our write");
  // Writes not yet acknowledged to the application that have landed on either disk.
  for (const auto& op : x.ops) {
    if (op->done || op->req.op != IoOp::Write) continue;
    uint64_t first = op->req.offset / kBlockBytes;
    for (size_t i = 0; i < op->versions.size(); i++) {
      bool landed = block_version(x.disk.block(first + i)) == op->versions[i] ||
                    (peer.up() && block_version(peer.disk.block(first + i)) == op->versions[i]);
      if (landed) need(first + i, 1, "unacknowledged write on a disk");
    }
  }
  // Blocks this node knows to be out of sync.
  const DirtyBitmap& bm = x.replica->bitmap();
  for (uint64_t b = 0; b < blocks; b++)
    if (bm.test(b)) need(b, 1, "out of sync in memory");
}

void World::check_final() {
  for (int n = 0; n < 2; n++) check_node_data(n, true, "at the end");
  bool any_usable = false;
  for (auto& x : nodes_) any_usable |= x->up() && usable(x->replica->disk());
  if (any_usable && !quiescent()) {
    std::string st;
    for (auto& x : nodes_) {
      if (!x->up()) {
        st += fmt::format(" node {} down;", x->id());
        continue;
      }
      ReplicaStatus s = x->replica->status();
      st += fmt::format(" node {} {} {} {} {} ({});", x->id(), to_string(s.role), to_string(s.conn),
                        to_string(s.repl), to_string(s.disk), s.last_decision);
    }
    fail("liveness: after healing the cluster did not converge to Connected/Established/UpToDate:" + st);
  }
  if (quiescent()) check_identical("at the end");
}

}  // namespace tandem::sim
