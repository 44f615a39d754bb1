// An allocator that returns 4 KiB-aligned memory, so buffers handed to the backing store can take the
// O_DIRECT path (the kernel requires aligned user memory for direct I/O). Usable with std::vector.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

namespace tandem {

template <typename T>
struct PageAlignedAllocator {
  using value_type = T;
  static constexpr size_t kAlign = 4096;
  PageAlignedAllocator() = default;
  template <typename U>
  PageAlignedAllocator(const PageAlignedAllocator<U>&) {}
  T* allocate(size_t n) {
    size_t bytes = (n * sizeof(T) + kAlign - 1) / kAlign * kAlign;
    void* p = std::aligned_alloc(kAlign, bytes ? bytes : kAlign);
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }
  template <typename U>
  bool operator==(const PageAlignedAllocator<U>&) const { return true; }
};

}  // namespace tandem
