// A deterministic two-node harness for the replication core: in-memory disks, an in-order message link per
// direction that carries real encoded frames, and a seeded scheduler that picks which pending event happens
// next. Used by unit tests now and the simulator later. Same seed, same run.
#pragma once

#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/check.h"
#include "core/replica.h"
#include "wire/codec.h"

namespace tandem::testing {

class Cluster;

class SimNode final : public Effects {
 public:
  SimNode(Cluster* c, int index, uint64_t size_bytes) : cluster_(c), index_(index), disk(size_bytes, 0) {}

  void submit_storage(const StorageOp& op) override { pending_io.push_back(op); }
  // An activity-log transaction is one more pending operation for the scheduler (recorded, no data).
  void submit_al_transaction(uint64_t tag, const meta::AlTransaction& tx) override {
    al_tx_tags.push_back(tag);
    al_transactions.push_back(tx);
    pending_io.push_back({StorageOpKind::Flush, tag, 0, 0, nullptr, false});
  }
  void send(const wire::Message& m) override;
  void complete(IoRequest* req, int result) override { req->complete(result); }
  void persist(const PersistentState& s) override {
    persisted = s;
    persists++;
  }
  void drop_connection(bool standalone, std::string_view reason) override;
  uint64_t new_uuid() override;
  void promotion_done(bool ok, std::string_view message) override {
    promote_result = ok ? 1 : 0;
    promote_message = std::string(message);
  }
  void state_changed() override {}
  void run_handler(std::string_view name) override { handlers.emplace_back(name); }
  void call_fence_peer() override { fence_calls++; }
  size_t send_backlog_bytes() const override {
    size_t n = 0;
    for (const auto& f : outbox) n += f.size();
    return n;
  }

  // Performs one pending storage operation (the scheduler picks which).
  void run_io(size_t i) {
    StorageOp op = pending_io[i];
    pending_io.erase(pending_io.begin() + static_cast<long>(i));
    int result = 0;
    switch (op.kind) {
      case StorageOpKind::Read: std::memcpy(op.buf, &disk[op.offset], op.length); break;
      case StorageOpKind::Write: std::memcpy(&disk[op.offset], op.buf, op.length); break;
      case StorageOpKind::Trim:
      case StorageOpKind::WriteZeroes: std::memset(&disk[op.offset], 0, op.length); break;
      case StorageOpKind::Flush:
        if (std::erase(al_tx_tags, op.tag) == 0) flushes++;
        break;
    }
    replica->storage_done(op.tag, result);
  }

  Cluster* cluster_;
  int index_;
  std::vector<uint8_t> disk;
  std::vector<StorageOp> pending_io;
  std::deque<std::vector<uint8_t>> outbox;  // frames towards the other node
  std::unique_ptr<Replica> replica;
  PersistentState persisted;
  int persists = 0;
  int flushes = 0;
  std::vector<uint64_t> al_tx_tags;                  // AL transactions submitted, not yet performed
  std::vector<meta::AlTransaction> al_transactions;  // every AL transaction submitted
  int promote_result = -1;
  std::string promote_message;
  bool want_standalone = false;
  std::vector<std::string> handlers;  // names of handlers run, in order
  int fence_calls = 0;                // fence-peer started (the test answers with Replica::fence_peer_done)
};

// An application request owned by the test.
struct AppIo {
  IoRequest req;
  std::vector<uint8_t> buf;
  bool done = false;
  int result = 1;
  static void on_done(IoRequest* r, int res) {
    auto* self = static_cast<AppIo*>(r->frontend_ctx);
    self->done = true;
    self->result = res;
  }
  AppIo(IoOp op, uint64_t offset, uint32_t length, uint8_t fill = 0, bool fua = false) : buf(length, fill) {
    req.op = op;
    req.offset = offset;
    req.length = length;
    req.fua = fua;
    req.data = buf.data();
    req.on_complete = &AppIo::on_done;
    req.frontend_ctx = this;
  }
};

class Cluster {
 public:
  Cluster(uint64_t seed, uint64_t size_bytes, char protocol = 'C', SplitBrainPolicy sb = {},
          uint64_t resync_rate_bytes_per_s = 0, Fencing fencing = Fencing::DontCare)
      : Cluster(seed, ReplicaConfig{0, 1, protocol, size_bytes, sb, resync_rate_bytes_per_s, fencing, {}}) {}
  // Both nodes from one configuration (node ids filled in).
  Cluster(uint64_t seed, const ReplicaConfig& base) : rng_(seed) {
    for (int i = 0; i < 2; i++) {
      nodes_[i] = std::make_unique<SimNode>(this, i, base.data_size_bytes);
      ReplicaConfig cfg = base;
      cfg.node_id = static_cast<uint32_t>(i);
      cfg.peer_node_id = static_cast<uint32_t>(1 - i);
      nodes_[i]->replica = std::make_unique<Replica>(cfg, PersistentState{}, nodes_[i].get());
    }
  }
  SimNode& node(int i) { return *nodes_[i]; }
  Replica& replica(int i) { return *nodes_[i]->replica; }
  bool connected() const { return connected_; }

  void connect() {
    if (connected_) return;
    connected_ = true;
    drop_pending_ = false;
    for (auto& n : nodes_) n->outbox.clear();
    for (auto& n : nodes_) n->replica->set_standalone(false);
    nodes_[0]->replica->peer_connected();
    if (connected_) nodes_[1]->replica->peer_connected();
  }
  void disconnect(std::string_view why = "test cut the link") {
    if (!connected_) return;
    connected_ = false;
    for (auto& n : nodes_) n->outbox.clear();
    for (auto& n : nodes_) n->replica->peer_disconnected(why);
  }

  // One random pending event; false when nothing is pending.
  bool step() {
    if (drop_pending_) {
      drop_pending_ = false;
      disconnect(drop_reason_);
      return true;
    }
    std::vector<std::pair<int, int>> choices;  // (node, 0=io / 1=deliver), io index chosen later
    for (int i = 0; i < 2; i++) {
      if (!nodes_[i]->pending_io.empty()) choices.push_back({i, 0});
      if (connected_ && !nodes_[i]->outbox.empty() && nodes_[1 - i]->replica->can_accept_peer_message())
        choices.push_back({i, 1});
    }
    if (choices.empty()) return false;
    auto [n, kind] = choices[rng_() % choices.size()];
    if (kind == 0) {
      nodes_[n]->run_io(rng_() % nodes_[n]->pending_io.size());
    } else {
      deliver_one(n);
    }
    return true;
  }
  // Delivers the oldest frame sent by node `from` to the other node; false when there is none.
  bool deliver_one(int from) {
    if (!connected_ || nodes_[from]->outbox.empty()) return false;
    std::vector<uint8_t> f = std::move(nodes_[from]->outbox.front());
    nodes_[from]->outbox.pop_front();
    wire::FrameHeader h;
    wire::Message m;
    std::string err;
    TANDEM_CHECK(wire::decode_header(f.data(), &h, &err));
    TANDEM_CHECK(wire::decode_payload(h, f.data() + wire::kHeaderSize, &m, &err));
    nodes_[1 - from]->replica->peer_message(m);
    return true;
  }
  // Runs until nothing is pending (bounded).
  void run(int max_steps = 1000000) {
    for (int i = 0; i < max_steps; i++)
      if (!step()) return;
    TANDEM_CHECK_MSG(false, "cluster did not settle");
  }

  uint64_t random() { return rng_(); }
  std::mt19937_64& rng() { return rng_; }

 private:
  std::unique_ptr<SimNode> nodes_[2];
  bool connected_ = false;
  bool drop_pending_ = false;
  std::string drop_reason_;
  std::mt19937_64 rng_;
  friend class SimNode;
};

inline void SimNode::send(const wire::Message& m) {
  if (!cluster_->connected_ || cluster_->drop_pending_) return;
  std::vector<uint8_t> f(wire::kMaxEncodedFixedBytes);
  uint32_t n = wire::encode(m, f.data());
  f.resize(n);
  uint32_t dl = wire::data_block_length(m);
  const uint8_t* d = m.type == wire::MsgType::Data ? m.data.data : m.resync.data;
  if (dl) f.insert(f.end(), d, d + dl);
  outbox.push_back(std::move(f));
}

// Deferred, as in the daemon: the replica may be in the middle of handling a message.
inline void SimNode::drop_connection(bool standalone, std::string_view reason) {
  if (standalone) replica->set_standalone(true);
  cluster_->drop_pending_ = true;
  cluster_->drop_reason_ = std::string(reason);
}

inline uint64_t SimNode::new_uuid() {
  uint64_t u;
  do u = cluster_->rng_() & ~1ULL;
  while (u == 0 || u == kUuidJustCreated);
  return u;
}

}  // namespace tandem::testing
