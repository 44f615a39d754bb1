#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

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

namespace tandem {
namespace {
// The interleaved fast path must agree with the plain definition for every length around its block size.
uint32_t reference_crc32c(const uint8_t* p, size_t n) {
  uint32_t c = ~0u;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
  }
  return ~c;
}
TEST(Crc32c, LargeBuffersMatchReference) {
  std::vector<uint8_t> buf(3 * 4096 * 3 + 100);
  for (size_t i = 0; i < buf.size(); i++) buf[i] = uint8_t(i * 131 + (i >> 7));
  for (size_t n : {size_t(0), size_t(7), size_t(12287), size_t(12288), size_t(12289), size_t(24576 + 13),
                   buf.size()}) {
    EXPECT_EQ(crc32c(buf.data(), n), reference_crc32c(buf.data(), n)) << n;
  }
  EXPECT_EQ(crc32c(buf.data() + 5000, 30000, crc32c(buf.data(), 5000)), reference_crc32c(buf.data(), 35000));
}
}  // namespace
}  // namespace tandem
