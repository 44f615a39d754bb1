// Small durable writes (metadata: activity-log transactions) through an io_uring of their own, so that the
// loop thread does not wait for the disk: each block is copied, written with RWF_DSYNC (durable when it
// completes, as pwrite + fdatasync), and its completion collected with reap() when event_fd() is readable.
//
// Threading: not thread-safe; owned by the resource loop.
// Bounds: at most kMaxInFlight blocks of at most kMaxBlockBytes each; the caller keeps within them.
#pragma once

#include <liburing.h>

#include <array>
#include <cstdint>
#include <functional>
#include <string>

#include "common/unique_fd.h"

namespace tandem {

class DsyncWriter {
 public:
  static constexpr unsigned kMaxInFlight = 4;
  static constexpr uint32_t kMaxBlockBytes = 4096;

  DsyncWriter() = default;
  // Waits (bounded) for writes still in flight: the kernel may still be reading their buffers.
  ~DsyncWriter();
  DsyncWriter(const DsyncWriter&) = delete;
  DsyncWriter& operator=(const DsyncWriter&) = delete;

  // `fd` stays owned by the caller and must outlive this writer. False with a message on failure.
  bool open(int fd, std::string* error);
  int event_fd() const { return event_fd_.get(); }
  bool full() const { return in_flight_ == kMaxInFlight; }
  unsigned in_flight() const { return in_flight_; }

  // Writes `length` bytes (1..kMaxBlockBytes, copied) at `offset`. Precondition: !full().
  void submit(uint64_t tag, uint64_t offset, const uint8_t* data, uint32_t length);
  // Calls done(tag, 0 or -errno) for each write that finished. A short write is continued, not reported.
  void reap(const std::function<void(uint64_t tag, int result)>& done);
  // Hands queued entries to the kernel if an earlier submission failed (call it periodically).
  void kick();

 private:
  struct Slot {
    bool used = false;
    uint64_t tag = 0;
    uint64_t offset = 0;
    uint32_t length = 0;
    uint32_t done = 0;
    std::array<uint8_t, kMaxBlockBytes> buf{};  // the metadata descriptor is buffered: no alignment needed
  };
  void issue(unsigned slot);

  int fd_ = -1;
  io_uring ring_{};
  bool ring_ok_ = false;
  UniqueFd event_fd_;
  std::array<Slot, kMaxInFlight> slots_{};
  unsigned in_flight_ = 0;
};

}  // namespace tandem
