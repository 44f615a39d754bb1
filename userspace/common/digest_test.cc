#include "common/digest.h"

#include <gtest/gtest.h>

#include <string>

namespace tandem {
namespace {

std::string hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; i++) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

TEST(Digest, KnownAnswers) {
  const std::string abc = "abc";
  const auto* p = reinterpret_cast<const uint8_t*>(abc.data());
  uint8_t out[kMaxDigestBytes];
  compute_digest(DigestAlg::Md5, p, 3, out);
  EXPECT_EQ(hex(out, 16), "900150983cd24fb0d6963f7d28e17f72");
  compute_digest(DigestAlg::Sha1, p, 3, out);
  EXPECT_EQ(hex(out, 20), "a9993e364706816aba3e25717850c26c9cd0d89d");
  compute_digest(DigestAlg::Sha256, p, 3, out);
  EXPECT_EQ(hex(out, 32), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string digits = "123456789";
  compute_digest(DigestAlg::Crc32c, reinterpret_cast<const uint8_t*>(digits.data()), 9, out);
  EXPECT_EQ(hex(out, 4), "839206e3");  // 0xe3069283, little endian
}

TEST(Digest, NamesAndIds) {
  DigestAlg a;
  for (std::string_view n : {"crc32c", "md5", "sha1", "sha256"}) {
    ASSERT_TRUE(digest_alg_from_name(n, &a)) << n;
    EXPECT_EQ(digest_alg_name(a), n);
    DigestAlg b;
    ASSERT_TRUE(digest_alg_from_id(static_cast<uint8_t>(a), &b));
    EXPECT_EQ(a, b);
    EXPECT_LE(digest_size(a), kMaxDigestBytes);
  }
  EXPECT_FALSE(digest_alg_from_name("crc32", &a));
  EXPECT_FALSE(digest_alg_from_id(0, &a));
  EXPECT_FALSE(digest_alg_from_id(9, &a));
}

}  // namespace
}  // namespace tandem
