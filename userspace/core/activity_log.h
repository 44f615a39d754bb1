// The activity log (AL): the bounded set of "hot" extents (4 MiB each in the daemon) that writes may touch.
// Before a write may touch an extent outside the set, the extent must be recorded on disk in an AL
// transaction, and that transaction must be durable before the write is issued (locally or to the peer). So
// after a crash, every block that may differ between the two nodes because of writes in flight lies in an
// extent of the on-disk AL — or is in the on-disk bitmap, which the core writes out before an extent with
// out-of-sync blocks leaves the set. Restart then marks just those extents out of sync instead of everything.
//
// Pure bookkeeping, no I/O: begin() says whether a transaction is needed and builds it; the Replica writes it
// through Effects. An extent is evicted (least recently used first) only while no write holds it.
// Bounded: `slots` (al-extents) entries, fixed at construction.
#pragma once

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "meta/al_ring.h"

namespace tandem {

class ActivityLog {
 public:
  // `slots`: al-extents, 1..meta::kAlExtentsUsable. `extent_shift`: log2 of the extent size in bytes.
  // `last_seq`: the newest transaction in the on-disk ring (0 if none); new ones continue from it.
  ActivityLog(uint32_t slots, uint32_t extent_shift, uint64_t last_seq);

  enum class Begin {
    Hot,              // every extent already active: references taken, no metadata I/O
    NeedTransaction,  // references taken; write *tx durably (after the bitmap bits of *evicted) before the I/O
    Busy,             // not enough cold extents to evict now; nothing changed, retry after an end()
    NeedFlush,        // the extents to evict hold completed writes that may still sit in the disk's volatile
                      // cache: flush the data disk (flush_token() before, flushed() after), then retry
    TooLarge,         // the range spans more extents than one transaction or the whole set can take
  };
  Begin begin(uint64_t offset, uint64_t length, meta::AlTransaction* tx, std::vector<uint32_t>* evicted);
  // Transactions without updates whose context windows together describe the whole set as it is now: written
  // at start, they replace the previous run's ring (whose extents the caller has marked out of sync).
  std::vector<meta::AlTransaction> describe_all();
  // Eviction needs the evicted extents' data durable: an extent may leave the AL only when every write that
  // ended in it is covered by a data flush submitted after that end (as DRBD's AL transactions carry a
  // pre-flush). Take the token when submitting any data flush, report it when the flush completed.
  uint64_t flush_token() const { return end_counter_; }
  void flushed(uint64_t token) { durable_ = std::max(durable_, token); }
  // The write that began on this range is over (on both nodes, or its range is marked out of sync).
  void end(uint64_t offset, uint64_t length);

  uint32_t slots() const { return static_cast<uint32_t>(slots_.size()); }
  uint32_t extent_shift() const { return shift_; }
  uint64_t extent_bytes() const { return 1ull << shift_; }
  uint32_t used() const { return static_cast<uint32_t>(index_.size()); }
  uint64_t last_seq() const { return next_seq_ - 1; }
  uint64_t transactions() const { return transactions_; }
  bool active(uint32_t extent) const { return index_.count(extent) != 0; }
  uint32_t refs(uint32_t extent) const;
  std::vector<uint32_t> active_extents() const;  // ascending
  uint32_t max_extents_per_write() const;

 private:
  struct Slot {
    uint32_t extent = meta::kAlFreeExtent;
    uint32_t refs = 0;
    uint64_t last_use = 0;
    uint64_t last_end = 0;  // end_counter_ when a write in it last ended
  };
  uint32_t first_extent(uint64_t offset) const { return static_cast<uint32_t>(offset >> shift_); }
  uint32_t last_extent(uint64_t offset, uint64_t length) const {
    return static_cast<uint32_t>((offset + length - 1) >> shift_);
  }

  uint32_t shift_;
  std::vector<Slot> slots_;
  std::unordered_map<uint32_t, uint32_t> index_;  // active extent -> slot
  uint64_t clock_ = 0;
  uint64_t next_seq_;
  uint32_t context_cursor_ = 0;
  uint64_t transactions_ = 0;
  uint64_t end_counter_ = 0;
  uint64_t durable_ = 0;  // writes that ended up to this count are on stable storage
};

}  // namespace tandem
