#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <cstring>

namespace tandem {
namespace {

TEST(Crc32c, KnownVector) {
  // The standard check value for CRC-32C over "123456789".
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
}

TEST(Crc32c, Incremental) {
  const char* s = "hello, replicated world";
  uint32_t whole = crc32c(s, std::strlen(s));
  uint32_t part = crc32c(s, 5);
  EXPECT_EQ(crc32c(s + 5, std::strlen(s) - 5, part), whole);
}

}  // namespace
}  // namespace tandem
