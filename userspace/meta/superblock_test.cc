#include "meta/superblock.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "common/byte_order.h"
#include "common/crc32c.h"
#include "meta/layout.h"

namespace tandem::meta {
namespace {

// A sane superblock with every field set to something distinctive.
Superblock sample() {
  Layout l;
  std::string error;
  EXPECT_EQ(compute_layout({MdKind::Internal, 1ull << 30, 0, 1}, &l, &error), 0) << error;
  Superblock s;
  store_layout(l, &s);
  s.flags = kFlagConsistent | kFlagWasUpToDate | kFlagCleanShutdown;
  s.node_id = 3;
  s.peer_node_id = 17;
  s.device_uuid = 0x1122334455667788ull;
  s.write_sequence = 42;
  s.current_uuid = 0xABCDEF0123456789ull;
  s.bitmap_uuid = 0x0F0E0D0C0B0A0908ull;
  s.history_uuids = {1, 2, 3, 0xFFFFFFFFFFFFFFFFull};
  s.al_extents = 6433;
  return s;
}

TEST(MetaSuperblock, RoundTrip) {
  Superblock s = sample();
  uint8_t block[kSuperblockSizeBytes];
  encode(s, block);
  Superblock d;
  std::string error;
  ASSERT_EQ(decode(block, &d, &error), DecodeResult::Ok) << error;
  EXPECT_EQ(d, s);
}

TEST(MetaSuperblock, ExternalRoundTrip) {
  Layout l;
  std::string error;
  ASSERT_EQ(compute_layout({MdKind::External, 1ull << 30, 1ull << 20, 1}, &l, &error), 0) << error;
  Superblock s = sample();
  store_layout(l, &s);
  uint8_t block[kSuperblockSizeBytes];
  encode(s, block);
  Superblock d;
  ASSERT_EQ(decode(block, &d, &error), DecodeResult::Ok) << error;
  EXPECT_EQ(d, s);
}

TEST(MetaSuperblock, ByteLayoutIsLittleEndianAtDocumentedOffsets) {
  Superblock s = sample();
  uint8_t block[kSuperblockSizeBytes];
  encode(s, block);
  EXPECT_EQ(std::memcmp(block, "TANDEMMD", 8), 0);
  EXPECT_EQ(get_le32(block + 8), 1u);
  EXPECT_EQ(block[sb::kDeviceUuidOff], 0x88);  // Lowest byte first.
  EXPECT_EQ(get_le32(block + sb::kNodeIdOff), 3u);
  EXPECT_EQ(get_le64(block + sb::kHistoryUuidsOff + 24), 0xFFFFFFFFFFFFFFFFull);
  for (size_t i = sb::kReservedOff; i < sb::kCrcOff; i++) ASSERT_EQ(block[i], 0) << "reserved byte " << i;
  // The checksum is CRC-32C over the block with the crc field zeroed.
  uint8_t copy[kSuperblockSizeBytes];
  std::memcpy(copy, block, sizeof copy);
  std::memset(copy + sb::kCrcOff, 0, 4);
  EXPECT_EQ(get_le32(block + sb::kCrcOff), crc32c(copy, sizeof copy));
}

TEST(MetaSuperblock, AnyFlippedByteIsDetected) {
  uint8_t block[kSuperblockSizeBytes];
  encode(sample(), block);
  for (size_t i = 0; i < kSuperblockSizeBytes; i++) {
    uint8_t damaged[kSuperblockSizeBytes];
    std::memcpy(damaged, block, sizeof damaged);
    damaged[i] ^= 0x01;
    Superblock d;
    std::string error;
    DecodeResult r = decode(damaged, &d, &error);
    if (i < 8) {
      EXPECT_EQ(r, DecodeResult::NoMetadata) << "byte " << i;
    } else if (i < 12) {
      EXPECT_EQ(r, DecodeResult::UnsupportedVersion) << "byte " << i;
    } else {
      ASSERT_EQ(r, DecodeResult::ChecksumMismatch) << "byte " << i;
      EXPECT_NE(error.find("metadata superblock checksum mismatch: stored 0x"), std::string::npos) << error;
      EXPECT_NE(error.find("the metadata is damaged"), std::string::npos) << error;
    }
  }
}

TEST(MetaSuperblock, WrongMagic) {
  uint8_t block[kSuperblockSizeBytes] = {};
  Superblock d;
  std::string error;
  EXPECT_EQ(decode(block, &d, &error), DecodeResult::NoMetadata);
  EXPECT_EQ(error, "no tandem metadata found");
  std::memcpy(block, "DRBDMETA", 8);
  EXPECT_EQ(decode(block, &d, &error), DecodeResult::NoMetadata);
}

// Re-encodes with another version number and a correct checksum, as a different tandem would write it.
void set_version(uint8_t* block, uint32_t version) {
  put_le32(block + sb::kVersionOff, version);
  std::memset(block + sb::kCrcOff, 0, 4);
  put_le32(block + sb::kCrcOff, crc32c(block, kSuperblockSizeBytes));
}

TEST(MetaSuperblock, FutureVersionIsRefusedNamingBoth) {
  uint8_t block[kSuperblockSizeBytes];
  encode(sample(), block);
  set_version(block, 2);
  Superblock d;
  std::string error;
  EXPECT_EQ(decode(block, &d, &error), DecodeResult::UnsupportedVersion);
  EXPECT_EQ(d.format_version, 2u);
  EXPECT_NE(error.find("version 2 is not supported"), std::string::npos) << error;
  EXPECT_NE(error.find("only version 1"), std::string::npos) << error;
  EXPECT_NE(error.find("newer"), std::string::npos) << error;
}

TEST(MetaSuperblock, OlderVersionIsRefused) {
  uint8_t block[kSuperblockSizeBytes];
  encode(sample(), block);
  set_version(block, 0);
  Superblock d;
  std::string error;
  EXPECT_EQ(decode(block, &d, &error), DecodeResult::UnsupportedVersion);
  EXPECT_NE(error.find("version 0 is not supported"), std::string::npos) << error;
  EXPECT_NE(error.find("older"), std::string::npos) << error;
}

struct InsaneCase {
  const char* name;
  std::function<void(Superblock*)> damage;
  const char* expect;  // Substring of the message.
};

TEST(MetaSuperblock, InsaneValuesGiveTheirMessage) {
  const InsaneCase cases[] = {
      {"zero data size", [](Superblock* s) { s->data_size_bytes = 0; }, "data size 0 is zero or not a multiple"},
      {"unaligned data size", [](Superblock* s) { s->data_size_bytes += 512; }, "not a multiple of 4096"},
      {"node-id", [](Superblock* s) { s->node_id = 32; }, "node-id 32 is above 31"},
      {"peer node-id", [](Superblock* s) { s->peer_node_id = 99; }, "peer node-id 99 is above 31"},
      {"same node-ids", [](Superblock* s) { s->peer_node_id = s->node_id; }, "are both 3"},
      {"al-extents low", [](Superblock* s) { s->al_extents = 6; }, "al-extents 6 is outside 7..65534"},
      {"al-extents high", [](Superblock* s) { s->al_extents = 65535; }, "al-extents 65535 is outside"},
      {"bitmap vs data", [](Superblock* s) { s->data_size_bytes *= 2; }, "does not match data size"},
      {"bitmap block size", [](Superblock* s) { s->bitmap_block_size_bytes = 512; }, "bitmap block size 512"},
      {"peer slots", [](Superblock* s) { s->peer_slots = 2; }, "2 peer bitmap slots"},
      {"unknown flags", [](Superblock* s) { s->flags |= 1u << 20; }, "unknown flag bits 0x100000"},
      {"md kind", [](Superblock* s) { s->md_kind = 7; }, "unknown meta-disk kind 7"},
      {"bitmap outside", [](Superblock* s) { s->bm_offset_bytes = s->md_size_bytes; }, "lies outside the metadata"},
      {"al outside", [](Superblock* s) { s->al_offset_bytes = 1ull << 40; }, "activity-log region"},
      {"sb outside", [](Superblock* s) { s->sb_offset_bytes = s->md_size_bytes; }, "superblock region"},
      {"unaligned offset", [](Superblock* s) { s->al_offset_bytes += 1; }, "not 4 KiB aligned"},
      {"overlap", [](Superblock* s) { s->al_offset_bytes = 0; }, "overlap"},
      {"sb not last", [](Superblock* s) { s->sb_offset_bytes = 0; }, "expected"},
      {"al size", [](Superblock* s) { s->al_size_bytes = 4096; }, "activity-log size 4096"},
      {"area size", [](Superblock* s) { s->md_size_bytes = 0; }, "metadata area size 0"},
  };
  for (const InsaneCase& c : cases) {
    Superblock s = sample();
    c.damage(&s);
    EXPECT_NE(validate(s), "") << c.name;
    uint8_t block[kSuperblockSizeBytes];
    encode(s, block);
    Superblock d;
    std::string error;
    EXPECT_EQ(decode(block, &d, &error), DecodeResult::Insane) << c.name;
    EXPECT_NE(error.find("impossible values"), std::string::npos) << c.name << ": " << error;
    EXPECT_NE(error.find(c.expect), std::string::npos) << c.name << ": " << error;
  }
}

// A cheap stand-in for a fuzzer: random field values with a valid checksum must decode to Ok or Insane,
// never crash, and whatever decodes Ok must pass validate() and re-encode to the same bytes.
TEST(MetaSuperblock, RandomValidChecksumBlocksNeverCrash) {
  uint8_t base[kSuperblockSizeBytes];
  encode(sample(), base);
  uint64_t state = 0x243F6A8885A308D3ull;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int ok = 0;
  for (int iter = 0; iter < 20000; iter++) {
    uint8_t block[kSuperblockSizeBytes];
    std::memcpy(block, base, sizeof block);
    int changes = 1 + int(next() % 4);
    for (int c = 0; c < changes; c++) {
      size_t off = 12 + next() % (sb::kReservedOff - 12);  // Any field after magic and version.
      uint64_t v = next();
      // Mostly small values, so that some damaged blocks still look plausible.
      block[off] = uint8_t(v % 3 == 0 ? v >> 8 : v % 5);
    }
    put_le32(block + sb::kCrcOff, 0);
    put_le32(block + sb::kCrcOff, crc32c(block, sizeof block));
    Superblock d;
    std::string error;
    DecodeResult r = decode(block, &d, &error);
    ASSERT_TRUE(r == DecodeResult::Ok || r == DecodeResult::Insane) << decode_result_name(r);
    if (r == DecodeResult::Insane) {
      EXPECT_FALSE(error.empty());
      continue;
    }
    ok++;
    EXPECT_EQ(validate(d), "");
    uint8_t again[kSuperblockSizeBytes];
    encode(d, again);
    EXPECT_EQ(std::memcmp(again, block, sizeof block), 0);
  }
  EXPECT_GT(ok, 0);  // The mutations did not all land on checked values.
}

TEST(MetaSuperblock, FlagsToString) {
  EXPECT_EQ(flags_to_string(0), "none");
  EXPECT_EQ(flags_to_string(kFlagConsistent | kFlagCleanShutdown), "Consistent|CleanShutdown");
  EXPECT_EQ(flags_to_string(kFlagPeerOutdated | (1u << 9)), "PeerOutdated|0x200");
}

}  // namespace
}  // namespace tandem::meta
