// What the replication core asks of the outside world. The daemon implements it with io_uring, TCP and the
// metadata file; the simulator with in-memory fakes. Every call is made on the resource's loop thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/dirty_bitmap.h"
#include "core/generation.h"
#include "frontend/block_target.h"
#include "meta/al_ring.h"
#include "wire/message.h"

namespace tandem {

enum class StorageOpKind : uint8_t { Read, Write, Flush, Trim, WriteZeroes };

struct StorageOp {
  StorageOpKind kind = StorageOpKind::Read;
  uint64_t tag = 0;      // returned unchanged with the completion
  uint64_t offset = 0;   // bytes, within the data area
  uint32_t length = 0;
  uint8_t* buf = nullptr;  // Read/Write; owned by the core or the frontend until completion
  bool fua = false;        // Write/WriteZeroes: durable before completion
};

// The persistent part of a node's replication state (stored in the metadata superblock).
struct PersistentState {
  GenerationIds ids;
  bool consistent = false;      // data is not half-synced
  bool was_up_to_date = false;  // data was UpToDate when last known (else Outdated)
  bool primary = false;         // node is Primary (still set after a crash: "crashed primary")
  bool crashed_primary = false; // node crashed while Primary; cleared after the next resync
  bool peer_outdated = false;   // the peer is known to be Outdated
  bool needs_full_sync = false; // this node's data must be fully resynced from the peer (cleared after it is)
  // The current generation was started by a Primary that lost its peer (it was Primary before the split);
  // false when the node became Primary while apart. after-sb-0pri discard-younger/older-primary read it.
  bool primary_at_split = false;
};

class Effects {
 public:
  virtual ~Effects() = default;
  // Starts a backing-store operation; its completion comes back through Replica::storage_done(tag, result).
  virtual void submit_storage(const StorageOp& op) = 0;
  // Queues a message to the peer. Data pointers inside `m` are only valid during the call (copy them).
  virtual void send(const wire::Message& m) = 0;
  // Like send, but the data block is sent from the caller's memory, which the core keeps valid until the peer
  // acknowledges the message or the connection is gone (saves a copy of every replicated block).
  virtual void send_zero_copy(const wire::Message& m) { send(m); }
  // Completes a frontend request with 0 or a negative errno.
  virtual void complete(IoRequest* req, int result) = 0;
  // Durably stores the persistent state before returning (metadata superblock write + sync).
  virtual void persist(const PersistentState& s) = 0;
  // Activity log (only when ReplicaConfig::al_extents > 0). Durably writes one AL transaction into its ring
  // slot before returning (used at start, when the ring is rewritten).
  virtual void write_al_transaction(const meta::AlTransaction& tx) {}
  // The same without blocking the loop: the transaction is durable when Replica::storage_done(tag, result)
  // reports it. The core keeps at most one in flight and issues the write it admits only after it completed.
  virtual void submit_al_transaction(uint64_t tag, const meta::AlTransaction& tx) = 0;
  // Durably writes the bitmap bits of blocks [first_block, first_block + blocks) (the implementation may
  // write more, e.g. whole 4 KiB pages) to the on-disk bitmap before returning. Called before an extent with
  // out-of-sync blocks leaves the activity log, and when bits are set outside it.
  virtual void persist_bitmap(const DirtyBitmap& bitmap, uint64_t first_block, uint64_t blocks) {}
  // Closes the peer connection. `standalone`: do not reconnect until an admin `connect`.
  virtual void drop_connection(bool standalone, std::string_view reason) = 0;
  // A fresh random generation identifier (never 0 or kUuidJustCreated).
  virtual uint64_t new_uuid() = 0;
  // A pending promotion finished (granted and done, or refused).
  virtual void promotion_done(bool ok, std::string_view message) = 0;
  // Role or disk state changed (frontends may need to appear, disappear or turn read-only).
  virtual void state_changed() = 0;
  // Runs the configured handler of that name ("split-brain", "pri-lost-after-sb", ...), if any, without
  // waiting for it.
  virtual void run_handler(std::string_view name) {}
  // Runs the fence-peer handler; its exit code comes back through Replica::fence_peer_done (on the loop
  // thread, later). Called only with fencing configured, which the daemon accepts only with the handler.
  virtual void call_fence_peer() {}
  // Bytes queued towards the peer and not yet handed to the network (protocol A backpressure).
  virtual size_t send_backlog_bytes() const { return 0; }
};

}  // namespace tandem
