// Backing-store I/O through io_uring (liburing). Reads, writes (FUA as RWF_DSYNC), data-sync flushes, trims
// (punch hole) and write-zeroes (zero range) on the data area of a file or block device.
//
// O_DIRECT is used when the backing store allows it, so data is not cached twice (our page cache is the
// frontend's); requests whose offset, length or buffer are not 4 KiB aligned go through a second, buffered
// descriptor instead. A flush syncs both descriptors' data.
//
// Threading: not thread-safe; owned by the resource loop. Completions are collected with reap(), which the
// loop calls when eventfd() becomes readable.
// Bounds: at most kQueueDepth operations are in the kernel; more wait in a FIFO until slots free up.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "core/effects.h"

namespace tandem {

class UringStorage {
 public:
  static constexpr unsigned kQueueDepth = 512;

  UringStorage() = default;
  ~UringStorage();
  UringStorage(const UringStorage&) = delete;
  UringStorage& operator=(const UringStorage&) = delete;

  // Opens `path` for the data area [0, data_size_bytes). Returns false with a message on failure.
  bool open(const std::string& path, uint64_t data_size_bytes, std::string* error);
  bool direct_io() const { return direct_io_; }
  // Readable when completions are waiting (register with epoll).
  int event_fd() const { return event_fd_.get(); }

  // Queues `op`; it reaches the kernel at the next flush_submissions() (the loop calls it before it waits, so
  // everything one event produced goes in with one system call) or reap().
  void submit(const StorageOp& op);
  void flush_submissions();
  // Delivers every available completion as (tag, 0 or -errno). Returns how many.
  int reap(const std::function<void(uint64_t tag, int result)>& done);
  unsigned in_flight() const { return in_flight_; }
  // Synchronous data sync of everything written so far (used at shutdown).
  int sync_now();

 private:
  struct Slot {
    bool used = false;
    StorageOp op;
    uint32_t done_bytes = 0;  // progress of a read/write that completed short
    int pending_sqes = 0;     // a flush is two fsyncs (direct + buffered descriptor)
    int result = 0;
  };
  bool aligned(const StorageOp& op) const;
  void issue(uint32_t slot);
  void finish(uint32_t slot, const std::function<void(uint64_t, int)>& done);
  io_uring_sqe* get_sqe();

  io_uring ring_{};
  bool ring_ok_ = false;
  UniqueFd direct_fd_, buffered_fd_, event_fd_;
  bool direct_io_ = false;
  uint64_t size_ = 0;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  std::deque<StorageOp> backlog_;
  unsigned in_flight_ = 0;
  bool unsubmitted_ = false;
  std::vector<uint8_t> zero_block_;
};

}  // namespace tandem
