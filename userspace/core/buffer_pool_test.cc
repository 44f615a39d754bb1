#include "core/buffer_pool.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>

namespace tandem {
namespace {

bool aligned_to(const uint8_t* p, size_t a) { return reinterpret_cast<uintptr_t>(p) % a == 0; }

TEST(BufferPool, BigBuffersComeFromHugePageChunks) {
  BufferPool pool(1u << 20);
  uint8_t* a = pool.get();
  uint8_t* b = pool.get();
  // Two 1 MiB buffers share one 2 MiB-aligned chunk, first one at its start.
  EXPECT_TRUE(aligned_to(a, kHugePageBytes));
  EXPECT_EQ(b, a + (1u << 20));
  std::memset(a, 0xAB, 1u << 20);
  std::memset(b, 0xCD, 1u << 20);
  uint8_t* c = pool.get();  // a new chunk
  EXPECT_TRUE(aligned_to(c, kHugePageBytes));
  EXPECT_NE(c, a);
  EXPECT_NE(c, b);
  pool.put(b);
  EXPECT_EQ(pool.get(), b);  // reused, not allocated again
  pool.put(a);
  pool.put(b);
  pool.put(c);
}

TEST(BufferPool, OddSizesStayPageAlignedAndDistinct) {
  BufferPool pool(100000);  // not a divisor of 2 MiB
  std::set<uint8_t*> seen;
  for (int i = 0; i < 50; i++) {
    uint8_t* p = pool.get();
    EXPECT_TRUE(aligned_to(p, BufferPool::kAlign));
    EXPECT_TRUE(seen.insert(p).second);
    std::memset(p, i, 100000);
  }
  for (uint8_t* p : seen) pool.put(p);
}

TEST(BufferPool, SmallBuffersAreAllocatedOneByOne) {
  BufferPool pool(4096);
  uint8_t* a = pool.get();
  EXPECT_TRUE(aligned_to(a, BufferPool::kAlign));
  pool.put(a);
  EXPECT_EQ(pool.get(), a);
  pool.put(a);
}

TEST(IoMemory, HugeMappingsAreAligned) {
  uint8_t* p = map_io_memory(2 * kHugePageBytes);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(aligned_to(p, kHugePageBytes));
  EXPECT_EQ(p[0], 0);
  p[2 * kHugePageBytes - 1] = 1;
  unmap_io_memory(p, 2 * kHugePageBytes);
  uint8_t* q = map_io_memory(8192);
  ASSERT_NE(q, nullptr);
  EXPECT_TRUE(aligned_to(q, 4096));
  unmap_io_memory(q, 8192);
}

}  // namespace
}  // namespace tandem
