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

namespace tandem {
namespace {
TEST(Crc32c, LongBufferMatchesBytewise) {
  std::string s(1000, 'x');
  for (size_t i = 0; i < s.size(); i++) s[i] = char(i * 7);
  uint32_t whole = crc32c(s.data(), s.size());
  uint32_t piecewise = 0;
  for (size_t i = 0; i < s.size(); i++) piecewise = crc32c(&s[i], 1, piecewise);
  EXPECT_EQ(whole, piecewise);
}
}  // namespace
}  // namespace tandem
