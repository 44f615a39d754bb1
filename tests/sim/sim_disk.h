// A simulated backing disk with a volatile write cache.
//
// Operations complete after a random latency, in any order. A completed write is visible to later reads at
// once but is durable only if it was FUA or a Flush submitted after its completion has completed; on a crash
// every block that has non-durable versions ends up holding one of them or its durable content, picked at
// random per 4 KiB block (so multi-block writes tear at block boundaries). Writes still in flight at a crash
// may or may not have reached the media, also per block.
//
// Not thread-safe; owned by one simulated node.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/effects.h"
#include "tests/sim/sim_rng.h"

namespace tandem::sim {

class SimDisk {
 public:
  static constexpr uint32_t kBlockBytes = 4096;

  explicit SimDisk(uint64_t size_bytes);

  struct Pending {
    StorageOp op;
    uint64_t complete_at_us = 0;
    uint64_t id = 0;              // submission order, breaks ties deterministically
    uint64_t flush_covers = 0;    // Flush: completions up to this sequence number become durable
  };

  uint64_t size_bytes() const { return cur_.size(); }
  uint64_t blocks() const { return cur_.size() / kBlockBytes; }
  // What reads see (volatile cache over the media).
  const std::vector<uint8_t>& contents() const { return cur_; }
  const uint8_t* block(uint64_t b) const { return &cur_[b * kBlockBytes]; }

  void submit(const StorageOp& op, uint64_t complete_at_us);
  // Index of the pending operation that completes first, or -1.
  int next_index() const;
  const std::vector<Pending>& pending() const { return pending_; }
  // Performs pending operation `i` and removes it; returns the result for storage_done (0 or -EIO).
  int complete(size_t i, Rng* rng, double io_error_rate);

  // Power loss / process crash: in-flight operations are resolved at random (their buffers are read now, while
  // their owner still exists) and the volatile cache is lost. Afterwards nothing is pending.
  void crash(Rng* rng);
  // Everything that completed is made durable (the daemon's final sync at a clean stop).
  void sync_all();
  // Every 4 KiB block this block may show now or after a crash (visible, durable, cached, in flight).
  std::vector<const uint8_t*> possible_contents(uint64_t b) const;
  bool has_unsynced() const;

 private:
  struct Cached {
    uint64_t seq;
    std::vector<uint8_t> data;
  };
  void write_block(uint64_t b, const uint8_t* src, bool fua);

  std::vector<uint8_t> cur_;
  std::vector<uint8_t> durable_;
  std::vector<std::vector<Cached>> cached_;  // per block, oldest first
  std::vector<Pending> pending_;
  uint64_t next_id_ = 1;
  uint64_t completion_seq_ = 0;
};

}  // namespace tandem::sim
