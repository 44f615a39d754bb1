#include "common/io_memory.h"

#include <sys/mman.h>

#include "common/check.h"

namespace tandem {

uint8_t* map_io_memory(size_t bytes) {
  TANDEM_CHECK(bytes > 0 && bytes % 4096 == 0);
  const bool huge = bytes % kHugePageBytes == 0;
  // mmap only promises 4 KiB alignment: for huge pages map one huge page more and trim both ends.
  size_t span = huge ? bytes + kHugePageBytes : bytes;
  void* m = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  auto* start = static_cast<uint8_t*>(m);
  if (!huge) return start;
  uintptr_t a = reinterpret_cast<uintptr_t>(start);
  auto* aligned = reinterpret_cast<uint8_t*>((a + kHugePageBytes - 1) & ~uintptr_t(kHugePageBytes - 1));
  size_t head = static_cast<size_t>(aligned - start);
  size_t tail = span - head - bytes;
  if (head) munmap(start, head);
  if (tail) munmap(aligned + bytes, tail);
  madvise(aligned, bytes, MADV_HUGEPAGE);  // a hint; failure (no THP) leaves ordinary pages
  return aligned;
}

void unmap_io_memory(uint8_t* p, size_t bytes) {
  if (p) munmap(p, bytes);
}

}  // namespace tandem
