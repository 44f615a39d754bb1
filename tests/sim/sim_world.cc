// World: construction, the event loop (simulated clock), the network and connection events, tracing.
#include "tests/sim/sim_world.h"

#include <algorithm>
#include <cstring>

#include "common/check.h"
#include "wire/codec.h"

namespace tandem::sim {

World::World(const SimOptions& opt) : opt_(opt), rng_(opt.seed) {
  csums_alg_ = (opt.seed * 0x9E3779B97F4A7C15ull) >> 63 ? DigestAlg::Crc32c : DigestAlg::None;
  fencing_ = (opt.seed * 0xD1B54A32D192ED03ull) % 3 == 0 ? Fencing::ResourceAndStonith : Fencing::DontCare;
  static constexpr uint64_t kSizes[] = {256 << 10, 512 << 10, 1 << 20};
  size_bytes_ = kSizes[rng_.below(3)];
  disk_latency_min_us_ = rng_.between(10, 200);
  disk_latency_max_us_ = disk_latency_min_us_ + rng_.between(0, 3000);
  net_delay_min_us_ = rng_.between(10, 300);
  net_delay_max_us_ = net_delay_min_us_ + rng_.between(0, 3000);
  action_gap_max_us_ = rng_.between(100, 3000);
  actions_left_ = rng_.between(100, 400);
  if (opt_.activity_log) {
    // Extents of 2..8 blocks and a set of 1..10 of them, so writes (1..8 blocks) span several extents, the set
    // is often full (evictions, waits) and some writes span more extents than the set holds.
    al_shift_ = static_cast<uint32_t>(rng_.between(13, 15));
    al_extents_ = static_cast<uint32_t>(rng_.between(1, 10));
  }
  for (int i = 0; i < 2; i++) {
    nodes_[i] = std::make_unique<Node>(this, i, size_bytes_);
    model_[i] = DataModel(size_bytes_ / kBlockBytes);
  }
  trace("seed {}: {} KiB disks, disk latency {}..{} us, network delay {}..{} us, {} actions, activity log {} x "
        "{} KiB",
        opt_.seed, size_bytes_ >> 10, disk_latency_min_us_, disk_latency_max_us_, net_delay_min_us_,
        net_delay_max_us_, actions_left_, al_extents_, al_extents_ ? (1u << al_shift_) >> 10 : 0);
}

World::~World() {
  // Replicas first: their destructors return buffers while the nodes still exist.
  for (auto& n : nodes_) n->replica.reset();
}

void World::trace_line(const std::string& s) {
  for (char c : s) hash_ = (hash_ ^ static_cast<uint8_t>(c)) * 1099511628211ULL;
  hash_ = (hash_ ^ '\n') * 1099511628211ULL;
  if (opt_.verbose) fmt::print("{:>9} {}\n", now_us_, s);
}

void World::run() {
  restart(0);
  restart(1);
  while (actions_left_ > 0)
    if (!step(true)) break;
  trace("---- schedule done; healing ----");
  for (int round = 0; round < 4; round++) {
    heal();
    maybe_schedule_connect();
    settle(500000);
    if (quiescent()) break;
  }
  check_final();
  trace("seed {} passed: {} events", opt_.seed, stats_.events);
}

bool World::step(bool allow_actions) {
  enum Kind { kDisk0, kDisk1, kNet0, kNet1, kConnect, kAction, kFence0, kFence1, kAl0, kAl1, kTick0, kTick1, kNone };
  Kind best = kNone;
  uint64_t best_t = 0;
  auto consider = [&](Kind k, uint64_t t) {
    if (best == kNone || t < best_t) {
      best = k;
      best_t = t;
    }
  };
  for (int n = 0; n < 2; n++) {
    int i = nodes_[n]->disk.next_index();
    if (i >= 0) consider(n == 0 ? kDisk0 : kDisk1, nodes_[n]->disk.pending()[i].complete_at_us);
  }
  for (int from = 0; from < 2; from++) {
    Node& to = *nodes_[1 - from];
    if (net_.connected() && !net_.queue(from).empty() && to.up() && to.replica->can_accept_peer_message())
      consider(from == 0 ? kNet0 : kNet1, net_.queue(from).front().deliver_at_us);
  }
  if (connect_at_us_ != 0) consider(kConnect, connect_at_us_);
  for (int n = 0; n < 2; n++)
    if (fence_at_us_[n] != 0) consider(n == 0 ? kFence0 : kFence1, fence_at_us_[n]);
  for (int n = 0; n < 2; n++)
    if (nodes_[n]->al_pending) consider(n == 0 ? kAl0 : kAl1, nodes_[n]->al_pending->done_at_us);
  for (int n = 0; n < 2; n++) {
    if (!nodes_[n]->up() || !nodes_[n]->replica->resync_needs_ticks()) {
      next_tick_us_[n] = 0;
      continue;
    }
    if (next_tick_us_[n] == 0) next_tick_us_[n] = now_us_ + kTickUs;
    consider(n == 0 ? kTick0 : kTick1, next_tick_us_[n]);
  }
  if (allow_actions && actions_left_ > 0) consider(kAction, next_action_us_);
  if (best == kNone) return false;
  now_us_ = std::max(now_us_, best_t);
  stats_.events++;
  switch (best) {
    case kDisk0:
    case kDisk1: {
      Node& x = *nodes_[best == kDisk0 ? 0 : 1];
      size_t i = static_cast<size_t>(x.disk.next_index());
      StorageOp op = x.disk.pending()[i].op;
      int result = x.disk.complete(i, &rng_, opt_.io_error_rate);
      trace("node {} disk: {} {}+{} tag {:x} done: {}", x.id(), int(op.kind), op.offset, op.length,
            op.tag >> 56, result);
      x.replica->storage_done(op.tag, result);
      break;
    }
    case kNet0:
    case kNet1: deliver(best == kNet0 ? 0 : 1); break;
    case kConnect:
      connect_at_us_ = 0;
      connect();
      break;
    case kFence0:
    case kFence1: fence_peer_answer(best == kFence0 ? 0 : 1); break;
    case kAl0:
    case kAl1: al_done(best == kAl0 ? 0 : 1); break;
    case kTick0:
    case kTick1: {
      int n = best == kTick0 ? 0 : 1;
      next_tick_us_[n] = now_us_ + kTickUs;
      nodes_[n]->replica->tick(now_us_ / 1000);
      break;
    }
    case kAction:
      actions_left_--;
      random_action();
      next_action_us_ = now_us_ + rng_.below(action_gap_max_us_);
      break;
    case kNone: break;
  }
  after_event();
  return true;
}

void World::after_event() {
  while (drop_pending_) {
    drop_pending_ = false;
    drop_connection(drop_reason_);
  }
  resolve_pending_forks();
  for (auto& n : nodes_)
    std::erase_if(n->ops, [](const std::unique_ptr<AppOp>& op) { return op->done; });
  observe_states();
  maybe_schedule_connect();
  if (stats_.events % 64 == 0) {
    check_node_data(0, false, "periodic check");
    check_node_data(1, false, "periodic check");
  }
  if (stats_.events % 8 == 0) {
    check_al_coverage(0, "periodic check");
    check_al_coverage(1, "periodic check");
  }
  if (writes_since_identical_check_ > 0 && quiescent()) {
    check_identical("resync complete and no I/O in flight");
    writes_since_identical_check_ = 0;
  }
}

void World::settle(uint64_t max_events) {
  for (uint64_t i = 0; i < max_events; i++)
    if (!step(false)) return;
  fail(fmt::format("the cluster did not settle within {} events", max_events));
}

void World::maybe_schedule_connect() {
  if (connect_at_us_ != 0 || net_.connected() || net_.cut()) return;
  for (auto& n : nodes_)
    if (!n->up() || n->replica->status().conn == ConnState::StandAlone) return;
  connect_at_us_ = now_us_ + rng_.between(100, 5000);
}

void World::connect() {
  if (net_.connected() || net_.cut()) return;
  for (auto& n : nodes_)
    if (!n->up() || n->replica->status().conn == ConnState::StandAlone) return;
  net_.connect();
  trace("network: connected (epoch {})", net_.epoch());
  int first = static_cast<int>(rng_.below(2));
  nodes_[first]->replica->peer_connected();
  nodes_[1 - first]->replica->peer_connected();
}

void World::drop_connection(const std::string& why, int crashed_node) {
  if (!net_.connected()) return;
  trace("network: connection lost: {}", why);
  net_.drop();
  connect_at_us_ = 0;
  int first = static_cast<int>(rng_.below(2));
  for (int k = 0; k < 2; k++) {
    int n = k == 0 ? first : 1 - first;
    if (n == crashed_node || !nodes_[n]->up()) continue;
    bool primary = nodes_[n]->replica->role() == Role::Primary;
    nodes_[n]->replica->peer_disconnected(why);
    if (!primary) continue;
    // A Primary starts a new lineage now, or, with its writes frozen by fencing, when they resume alone.
    if (nodes_[n]->replica->status().suspended_fencing) {
      fork_pending_[n] = true;
      trace("model: node {} frozen by fencing; its lineage forks when writes resume without the peer", n);
    } else {
      fork_generation(n, "Primary lost its peer");
    }
  }
}

void World::deliver(int from) {
  int to = 1 - from;
  std::vector<uint8_t> storage;
  wire::Message m = net_.pop(from, &storage);
  trace("network: {} -> {}: {}", from, to, wire::type_name(m.type));
  Replica& r = *nodes_[to]->replica;
  if (m.type == wire::MsgType::State && (m.state.flags & wire::kStateIsHandshake)) {
    deliver_handshake(to, m, gen_in_handshake_[from]);
    return;
  }
  r.peer_message(m);
}

void World::observe_states() {
  for (int n = 0; n < 2; n++) {
    Node& x = *nodes_[n];
    if (!x.up()) continue;
    DiskState d = x.replica->disk();
    if (x.last_disk != d) trace("node {}: disk {} -> {}", n, to_string(x.last_disk), to_string(d));
    // Only a finished resync turns Inconsistent data usable (forced promotions update last_disk themselves);
    // one that completes after the connection dropped leaves the data Outdated.
    if (x.last_disk == DiskState::Inconsistent && d >= DiskState::Outdated && d != DiskState::DUnknown) {
      x.last_disk = d;
      check_sync_finished(n);
    }
    x.last_disk = d;
  }
}

bool World::quiescent() const {
  if (!net_.connected() || !net_.empty()) return false;
  for (auto& n : nodes_) {
    if (!n->up() || !n->ops.empty() || !n->disk.pending().empty() || !n->replica->idle()) return false;
    ReplicaStatus s = n->replica->status();
    if (s.repl != ReplState::Established || s.disk != DiskState::UpToDate) return false;
  }
  return true;
}

void World::on_submit(int node, const StorageOp& op) {
  nodes_[node]->disk.submit(op, now_us_ + rng_.between(disk_latency_min_us_, disk_latency_max_us_));
}

void World::on_al_submit(int node, uint64_t tag, const meta::AlTransaction& tx) {
  Node& x = *nodes_[node];
  if (x.al_pending) fail(fmt::format("node {} submitted a second activity-log transaction while one is in flight", node));
  x.al_pending = Node::PendingAl{tag, tx, now_us_ + rng_.between(disk_latency_min_us_, disk_latency_max_us_)};
}

// The transaction is on disk: the slot is written, then the core hears of it.
void World::al_done(int node) {
  Node& x = *nodes_[node];
  Node::PendingAl p = *x.al_pending;
  x.al_pending.reset();
  x.write_al_transaction(p.tx);
  trace("node {}: activity-log transaction {} written ({} update(s))", node, p.tx.seq, p.tx.updates.size());
  x.replica->storage_done(p.tag, 0);
}

void World::on_send(int from, const wire::Message& m) {
  if (!net_.connected()) return;
  if (m.type == wire::MsgType::State && (m.state.flags & wire::kStateIsHandshake)) gen_in_handshake_[from] = gen_[from];
  if (m.type == wire::MsgType::SyncDone) sync_snapshots_[m.uuid] = {model_[from], next_version_ - 1, gen_[from]};
  net_.send(from, m, now_us_ + rng_.between(net_delay_min_us_, net_delay_max_us_));
}

void World::on_drop_request(int node, bool standalone, std::string_view reason) {
  trace("node {}: core drops the connection{}: {}", node, standalone ? " (standalone)" : "", reason);
  // Without injected faults the core has no reason to drop a connection except a refused handshake.
  if (!standalone && opt_.io_error_rate == 0 && !reason.starts_with("invalidate"))
    fail(fmt::format("node {} dropped the connection on a fault-free run (protocol error?): {}", node, reason));
  drop_pending_ = true;
  drop_reason_ = std::string(reason);
}

uint64_t World::new_uuid() {
  uint64_t u;
  do u = rng_.next() & ~1ULL;
  while (u == 0 || u == kUuidJustCreated);
  return u;
}

void World::fork_generation(int n, const char* why) {
  int g = gens_.fork(gen_[n]);
  trace("model: node {} starts lineage {} (from {}): {}", n, g, gen_[n], why);
  gen_[n] = g;
}

}  // namespace tandem::sim
