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
      {"al-extents low", [](Superblock* s) { s->al_extents = 66; }, "al-extents 66 is outside 67..65534"},
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

TEST(MetaSuperblock, FlagsToString) {
  EXPECT_EQ(flags_to_string(0), "none");
  EXPECT_EQ(flags_to_string(kFlagConsistent | kFlagCleanShutdown), "Consistent|CleanShutdown");
  EXPECT_EQ(flags_to_string(kFlagPeerOutdated | (1u << 9)), "PeerOutdated|0x200");
}

}  // namespace
}  // namespace tandem::meta
