// A pool of 4 KiB-aligned buffers reused across requests, so the data path does not allocate in the steady
// state and O_DIRECT I/O can use the buffers. Not thread-safe: the owner serialises access (the resource loop,
// or a lock).
//
// Buffers of 64 KiB and more are carved from 2 MiB chunks backed by transparent huge pages (common/io_memory.h
// says why: O_DIRECT pins huge pages far more cheaply). Smaller ones are allocated one by one.
// Memory is only returned when the pool is destroyed; every buffer must be back (or no longer used) by then.
// Bounds: the pool holds at most as many buffers as were out at once, rounded up to a whole chunk.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "common/check.h"
#include "common/io_memory.h"

namespace tandem {

class BufferPool {
 public:
  static constexpr size_t kAlign = 4096;
  static constexpr size_t kMinChunkedBytes = 64u << 10;

  explicit BufferPool(size_t buffer_bytes)
      : buffer_bytes_(buffer_bytes), stride_((std::max<size_t>(buffer_bytes, 1) + kAlign - 1) / kAlign * kAlign) {
    if (stride_ >= kMinChunkedBytes) {
      per_chunk_ = std::max<size_t>(1, kHugePageBytes / stride_);
      chunk_bytes_ = (per_chunk_ * stride_ + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
    }
  }
  ~BufferPool() {
    if (chunk_bytes_ == 0) {
      for (uint8_t* b : free_) std::free(b);
    }
    for (uint8_t* c : chunks_) unmap_io_memory(c, chunk_bytes_);
  }
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  size_t buffer_bytes() const { return buffer_bytes_; }
  uint8_t* get() {
    if (free_.empty()) grow();
    uint8_t* b = free_.back();
    free_.pop_back();
    return b;
  }
  void put(uint8_t* b) {
    if (b) free_.push_back(b);
  }

 private:
  void grow() {
    if (chunk_bytes_ == 0) {
      void* p = nullptr;
      TANDEM_CHECK(posix_memalign(&p, kAlign, stride_) == 0);
      free_.push_back(static_cast<uint8_t*>(p));
      return;
    }
    uint8_t* c = map_io_memory(chunk_bytes_);
    TANDEM_CHECK_MSG(c != nullptr, "out of memory for data buffers");
    chunks_.push_back(c);
    // Handed out from the chunk's start: the first buffer of a chunk is the next one get() returns.
    for (size_t i = per_chunk_; i > 0; i--) free_.push_back(c + (i - 1) * stride_);
  }

  size_t buffer_bytes_;
  size_t stride_;
  size_t per_chunk_ = 1;
  size_t chunk_bytes_ = 0;  // 0: buffers are allocated one by one
  std::vector<uint8_t*> free_;
  std::vector<uint8_t*> chunks_;
};

}  // namespace tandem
