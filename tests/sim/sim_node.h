// One simulated node: the real Replica, its simulated disk and persisted metadata, and the application
// requests in flight on it. It implements Effects by handing everything to the World (scheduler).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/effects.h"
#include "core/replica.h"
#include "frontend/block_target.h"
#include "tests/sim/sim_disk.h"

namespace tandem::sim {

class World;

// An application request issued by the simulated workload; owned by its node until completed or the node dies.
struct AppOp {
  IoRequest req;
  std::vector<uint8_t> buf;
  World* world = nullptr;
  int node = 0;
  uint64_t id = 0;
  bool done = false;
  std::vector<uint64_t> versions;  // Write: the version written to each block
  bool mirrored = false;           // issued while the peer received writes...
  uint64_t net_epoch = 0;          // ...on this connection
  std::vector<uint64_t> floors_self, floors_peer;      // Flush: model floors when issued
  std::vector<std::vector<uint64_t>> read_allowed;      // Read: versions allowed per block when issued
  uint64_t read_max_version = 0;
  bool check_read = false;
  bool issued_as_primary = false;  // Write: the node was Primary when the request was issued
};

// What the daemon keeps in its metadata area across restarts.
struct PersistedMeta {
  PersistentState ps;
  bool clean = true;                 // the last stop was a clean `down`
  std::vector<uint64_t> bitmap;      // by a clean `down`, and by the core (Effects::persist_bitmap)
  std::vector<uint8_t> al_ring = std::vector<uint8_t>(size_t(meta::kAlSlots) * meta::kAlSlotBytes, 0);
  bool al_kept = false;              // superblock flag ActivityLog
};

class Node final : public Effects {
 public:
  Node(World* w, int id, uint64_t size_bytes) : disk(size_bytes), world_(w), id_(id) {}

  void submit_storage(const StorageOp& op) override;
  void send(const wire::Message& m) override;
  void complete(IoRequest* req, int result) override { req->complete(result); }
  void persist(const PersistentState& s) override {
    meta.ps = s;
    meta.clean = false;  // the daemon writes the superblock with the "running" flag
  }
  void drop_connection(bool standalone, std::string_view reason) override;
  uint64_t new_uuid() override;
  void promotion_done(bool ok, std::string_view message) override;
  void state_changed() override {}
  void call_fence_peer() override;
  void run_handler(std::string_view name) override;
  void write_al_transaction(const meta::AlTransaction& tx) override {
    meta::encode_al_slot(tx, &meta.al_ring[(tx.seq % meta::kAlSlots) * meta::kAlSlotBytes]);
    meta.clean = false;
  }
  // Written (durably) when the World performs it, at done_at_us; a crash before that may leave the slot
  // untouched, written or torn (World::crash).
  void submit_al_transaction(uint64_t tag, const meta::AlTransaction& tx) override;
  struct PendingAl {
    uint64_t tag = 0;
    meta::AlTransaction tx;
    uint64_t done_at_us = 0;
  };
  std::optional<PendingAl> al_pending;
  void persist_bitmap(const DirtyBitmap& bm, uint64_t first_block, uint64_t blocks) override {
    meta.bitmap.resize(bm.words().size(), 0);
    for (uint64_t w = first_block / 64; w < (first_block + blocks + 63) / 64 && w < bm.words().size(); w++)
      meta.bitmap[w] = bm.words()[w];
  }

  bool up() const { return replica != nullptr; }
  int id() const { return id_; }

  SimDisk disk;
  std::unique_ptr<Replica> replica;  // null while the node is down
  PersistedMeta meta;
  std::vector<std::unique_ptr<AppOp>> ops;  // application requests in flight
  // A promotion in progress (the outcome may arrive later, through the peer's PromoteReply).
  bool promoting = false;
  bool promote_force = false;
  DiskState promote_pre_disk = DiskState::Inconsistent;
  // States seen after the previous event, to notice transitions.
  DiskState last_disk = DiskState::Inconsistent;

 private:
  World* world_;
  int id_;
};

}  // namespace tandem::sim
