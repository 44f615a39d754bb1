#include "config/keywords.h"

#include <gtest/gtest.h>

namespace tandem::config {
namespace {

std::string ok(SectionKind s, std::string_view key, std::vector<std::string> values) {
  const KeywordSpec* spec = find_keyword(s, key);
  EXPECT_NE(spec, nullptr) << key;
  if (spec == nullptr) return "";
  std::string norm, error;
  EXPECT_TRUE(validate_value(*spec, values, &norm, &error)) << error;
  return norm;
}

std::string bad(SectionKind s, std::string_view key, std::vector<std::string> values) {
  const KeywordSpec* spec = find_keyword(s, key);
  EXPECT_NE(spec, nullptr) << key;
  if (spec == nullptr) return "";
  std::string norm, error;
  EXPECT_FALSE(validate_value(*spec, values, &norm, &error)) << "accepted: " << norm;
  return error;
}

TEST(ConfigKeywords, KnowsTheDocumentedKeywordsPerSection) {
  for (const char* k : {"protocol", "after-sb-0pri", "after-sb-1pri", "after-sb-2pri", "rr-conflict", "verify-alg",
                        "csums-alg", "data-integrity-alg", "fencing", "timeout", "connect-int", "ping-int",
                        "ping-timeout", "ko-count", "max-buffers", "max-epoch-size", "sndbuf-size", "rcvbuf-size",
                        "allow-two-primaries", "on-congestion", "congestion-fill", "congestion-extents", "transport",
                        "cram-hmac-alg", "shared-secret"})
    EXPECT_NE(find_keyword(SectionKind::Net, k), nullptr) << k;
  for (const char* k : {"al-extents", "al-updates", "on-io-error", "disk-timeout", "disk-barrier", "disk-flushes",
                        "disk-drain", "md-flushes", "resync-rate", "resync-after", "c-plan-ahead", "c-fill-target",
                        "c-delay-target", "c-max-rate", "c-min-rate", "rs-discard-granularity", "read-balancing"})
    EXPECT_NE(find_keyword(SectionKind::Disk, k), nullptr) << k;
  for (const char* k : {"auto-promote", "quorum", "on-no-quorum"})
    EXPECT_NE(find_keyword(SectionKind::Options, k), nullptr) << k;
  for (const char* k : {"split-brain", "fence-peer", "unfence-peer", "pri-lost", "pri-lost-after-sb",
                        "pri-on-incon-degr", "local-io-error", "before-resync-target", "after-resync-target",
                        "before-resync-source", "out-of-sync", "quorum-lost", "initial-split-brain", "disconnected"})
    EXPECT_NE(find_keyword(SectionKind::Handlers, k), nullptr) << k;
  for (const char* k : {"wfc-timeout", "degr-wfc-timeout", "outdated-wfc-timeout", "wait-after-sb"})
    EXPECT_NE(find_keyword(SectionKind::Startup, k), nullptr) << k;
  EXPECT_EQ(find_keyword(SectionKind::Net, "protocl"), nullptr);
  EXPECT_EQ(find_keyword(SectionKind::Net, "al-extents"), nullptr);
}

TEST(ConfigKeywords, SectionsWithKeywordFindsTheRightHome) {
  auto s = sections_with_keyword("al-extents");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0], SectionKind::Disk);
  EXPECT_TRUE(sections_with_keyword("nonsense").empty());
}

TEST(ConfigKeywords, FlagsNormaliseToYesNo) {
  EXPECT_EQ(ok(SectionKind::Net, "allow-two-primaries", {}), "yes");
  EXPECT_EQ(ok(SectionKind::Net, "allow-two-primaries", {"no"}), "no");
  EXPECT_EQ(bad(SectionKind::Disk, "disk-barrier", {"maybe"}), "invalid value 'maybe' for disk-barrier (expected yes or no)");
}

TEST(ConfigKeywords, ProtocolLetter) {
  EXPECT_EQ(ok(SectionKind::Net, "protocol", {"A"}), "A");
  EXPECT_EQ(bad(SectionKind::Net, "protocol", {"D"}), "invalid value 'D' for protocol (expected A, B or C)");
  EXPECT_EQ(bad(SectionKind::Net, "protocol", {"c"}), "invalid value 'c' for protocol (expected A, B or C)");
  EXPECT_EQ(bad(SectionKind::Net, "protocol", {}), "missing value for protocol");
}

TEST(ConfigKeywords, CramHmacAlgMustBeKnown) {
  for (const char* a : {"sha1", "sha256", "sha512", "md5"}) EXPECT_EQ(ok(SectionKind::Net, "cram-hmac-alg", {a}), a);
  EXPECT_EQ(bad(SectionKind::Net, "cram-hmac-alg", {"sha3"}),
            "invalid value 'sha3' for cram-hmac-alg (expected one of: sha1, sha256, sha512, md5)");
}

TEST(ConfigKeywords, SharedSecretLength) {
  EXPECT_EQ(ok(SectionKind::Net, "shared-secret", {std::string(64, 'x')}), std::string(64, 'x'));
  EXPECT_EQ(bad(SectionKind::Net, "shared-secret", {std::string(65, 'x')}),
            "shared-secret must be 1 to 64 characters long (got 65)");
  EXPECT_EQ(bad(SectionKind::Net, "shared-secret", {""}), "shared-secret must be 1 to 64 characters long (got 0)");
}

TEST(ConfigKeywords, IntegerRanges) {
  EXPECT_EQ(ok(SectionKind::Net, "ping-int", {"10"}), "10");
  EXPECT_EQ(ok(SectionKind::Net, "ko-count", {"0"}), "0");
  EXPECT_EQ(bad(SectionKind::Net, "ping-int", {"0"}), "invalid value '0' for ping-int (expected an integer from 1 to 120)");
  EXPECT_EQ(bad(SectionKind::Net, "timeout", {"-1"}), "invalid value '-1' for timeout (expected an integer from 1 to 600)");
  EXPECT_EQ(bad(SectionKind::Disk, "al-extents", {"3x"}),
            "invalid value '3x' for al-extents (expected an integer from 7 to 65534)");
  EXPECT_EQ(bad(SectionKind::Disk, "al-extents", {"99999999999999999999999"}),
            "invalid value '99999999999999999999999' for al-extents (expected an integer from 7 to 65534)");
}

TEST(ConfigKeywords, SizesTakeSuffixes) {
  EXPECT_EQ(ok(SectionKind::Disk, "c-max-rate", {"400M"}), "400M");
  EXPECT_EQ(ok(SectionKind::Disk, "resync-rate", {"250k"}), "250k");
  EXPECT_EQ(ok(SectionKind::Net, "sndbuf-size", {"0"}), "0");
  EXPECT_EQ(bad(SectionKind::Disk, "c-max-rate", {"400X"}),
            "invalid value '400X' for c-max-rate (expected a number with optional K, M or G suffix)");
  EXPECT_EQ(bad(SectionKind::Disk, "c-max-rate", {"M"}),
            "invalid value 'M' for c-max-rate (expected a number with optional K, M or G suffix)");
  unsigned long long b = 0;
  ASSERT_TRUE(parse_size_bytes("4G", 1, &b));
  EXPECT_EQ(b, 4ULL << 30);
  ASSERT_TRUE(parse_size_bytes("8", 1024, &b));
  EXPECT_EQ(b, 8192u);
  ASSERT_TRUE(parse_size_bytes("2s", 1, &b));
  EXPECT_EQ(b, 1024u);
  EXPECT_FALSE(parse_size_bytes("999999999999999999G", 1, &b));  // overflows 64 bits
}

TEST(ConfigKeywords, ChoicesAndPolicies) {
  EXPECT_EQ(ok(SectionKind::Net, "after-sb-0pri", {"discard-zero-changes"}), "discard-zero-changes");
  EXPECT_EQ(ok(SectionKind::Net, "after-sb-0pri", {"discard-node-alpha"}), "discard-node-alpha");
  EXPECT_EQ(bad(SectionKind::Net, "after-sb-2pri", {"consensus"}),
            "invalid value 'consensus' for after-sb-2pri (expected one of: disconnect, call-pri-lost-after-sb, "
            "violently-as0p)");
  EXPECT_EQ(ok(SectionKind::Net, "fencing", {"resource-only"}), "resource-only");
  EXPECT_EQ(ok(SectionKind::Options, "quorum", {"majority"}), "majority");
  EXPECT_EQ(ok(SectionKind::Options, "quorum", {"2"}), "2");
  EXPECT_EQ(bad(SectionKind::Options, "quorum", {"33"}),
            "invalid value '33' for quorum (expected off, majority, all or 1..32)");
}

TEST(ConfigKeywords, WordsAndCommands) {
  EXPECT_EQ(ok(SectionKind::Net, "verify-alg", {"crc32c"}), "crc32c");
  EXPECT_EQ(bad(SectionKind::Net, "verify-alg", {"crc 32"}), "invalid value 'crc 32' for verify-alg");
  EXPECT_EQ(ok(SectionKind::Handlers, "split-brain", {"/usr/lib/drbd/notify-split-brain.sh root"}),
            "/usr/lib/drbd/notify-split-brain.sh root");
  EXPECT_EQ(bad(SectionKind::Handlers, "fence-peer", {""}), "empty command for handler fence-peer");
  EXPECT_EQ(bad(SectionKind::Net, "protocol", {"C", "D"}), "too many values for protocol (unexpected 'D')");
}

}  // namespace
}  // namespace tandem::config
