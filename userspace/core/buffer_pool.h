// A pool of 4 KiB-aligned buffers reused across requests, so the data path does not allocate in the steady
// state and O_DIRECT I/O can use the buffers. Not thread-safe: owned by the resource loop.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "common/check.h"

namespace tandem {

class BufferPool {
 public:
  static constexpr size_t kAlign = 4096;
  explicit BufferPool(size_t buffer_bytes) : buffer_bytes_(buffer_bytes) {}
  ~BufferPool() {
    for (uint8_t* b : free_) std::free(b);
  }
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  size_t buffer_bytes() const { return buffer_bytes_; }
  uint8_t* get() {
    if (!free_.empty()) {
      uint8_t* b = free_.back();
      free_.pop_back();
      return b;
    }
    void* p = nullptr;
    TANDEM_CHECK(posix_memalign(&p, kAlign, buffer_bytes_) == 0);
    return static_cast<uint8_t*>(p);
  }
  void put(uint8_t* b) {
    if (b) free_.push_back(b);
  }

 private:
  size_t buffer_bytes_;
  std::vector<uint8_t*> free_;
};

}  // namespace tandem
