// Memory for data buffers that the backing store reads or writes with O_DIRECT.
//
// Why transparent huge pages: for every O_DIRECT request the kernel pins the user pages it transfers
// (get_user_pages) and builds the bio from them. With 4 KiB pages that is 256 page-table walks, reference
// counts and bio segments per MiB, on every request; with 2 MiB huge pages it is one per 2 MiB and the segments
// merge. Measured with 1 MiB replicated writes (make bench): the io_uring submission's share of each daemon's
// loop thread fell from about 27% to about 10%.
//
// madvise(MADV_HUGEPAGE) is only a hint: where THP is off or memory is fragmented the kernel uses small pages
// and everything works as before, only slower. The memory comes straight from mmap and goes back with munmap.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tandem {

inline constexpr size_t kHugePageBytes = 2u << 20;

// `bytes` (a multiple of 4 KiB, > 0) of zero-filled, 4 KiB-aligned memory. When `bytes` is a multiple of
// kHugePageBytes, the memory is also aligned to kHugePageBytes and advised for transparent huge pages.
// Returns nullptr when the system has no memory to give.
uint8_t* map_io_memory(size_t bytes);
// Releases memory from map_io_memory(); `bytes` as passed to it.
void unmap_io_memory(uint8_t* p, size_t bytes);

}  // namespace tandem
