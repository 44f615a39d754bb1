#include "meta/metadata_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

#include "common/unique_fd.h"
#include "meta/temp_file_for_test.h"

namespace tandem::meta {
namespace {

constexpr uint64_t kBackingBytes = 256ull << 20;

struct Fixture {
  TempFile file{kBackingBytes};
  UniqueFd fd{::open(file.path().c_str(), O_RDWR)};
  Layout layout;
  Superblock sb;

  Fixture() {
    std::string error;
    EXPECT_EQ(compute_layout({MdKind::Internal, kBackingBytes, 0, 1}, &layout, &error), 0) << error;
    store_layout(layout, &sb);
    sb.node_id = 0;
    sb.peer_node_id = 1;
    sb.current_uuid = kUuidJustCreated;
  }
};

TEST(MetaFile, SuperblockWriteReadAndSequence) {
  Fixture f;
  std::string error;
  ASSERT_EQ(write_superblock(f.fd.get(), f.layout.sb_offset_bytes, &f.sb, &error), 0) << error;
  EXPECT_EQ(f.sb.write_sequence, 1u);
  ASSERT_EQ(write_superblock(f.fd.get(), f.layout.sb_offset_bytes, &f.sb, &error), 0) << error;
  EXPECT_EQ(f.sb.write_sequence, 2u);
  Superblock back;
  DecodeResult r;
  ASSERT_EQ(read_superblock(f.fd.get(), f.layout.sb_offset_bytes, &back, &error, &r), 0) << error;
  EXPECT_EQ(r, DecodeResult::Ok);
  EXPECT_EQ(back, f.sb);
}

TEST(MetaFile, ReadErrorsMapToErrnoAndResult) {
  Fixture f;
  std::string error;
  Superblock back;
  DecodeResult r;
  EXPECT_EQ(read_superblock(f.fd.get(), f.layout.sb_offset_bytes, &back, &error, &r), -ENODATA);
  EXPECT_EQ(r, DecodeResult::NoMetadata);
  EXPECT_NE(error.find("no tandem metadata found"), std::string::npos) << error;

  ASSERT_EQ(write_superblock(f.fd.get(), f.layout.sb_offset_bytes, &f.sb, &error), 0) << error;
  uint8_t byte = 0x5A;
  f.file.write_at(f.layout.sb_offset_bytes + 2000, &byte, 1);
  EXPECT_EQ(read_superblock(f.fd.get(), f.layout.sb_offset_bytes, &back, &error, &r), -EBADMSG);
  EXPECT_EQ(r, DecodeResult::ChecksumMismatch);
  EXPECT_NE(error.find("checksum mismatch"), std::string::npos) << error;

  // Past the end of the file: a short read is an I/O error, not a decode result.
  EXPECT_EQ(read_superblock(f.fd.get(), kBackingBytes, &back, &error, &r), -EIO);
  EXPECT_NE(error.find("unexpected end of file"), std::string::npos) << error;
}

TEST(MetaFile, WriteRefusesInsaneSuperblock) {
  Fixture f;
  f.sb.al_extents = 5;
  std::string error;
  EXPECT_EQ(write_superblock(f.fd.get(), f.layout.sb_offset_bytes, &f.sb, &error), -EUCLEAN);
  EXPECT_NE(error.find("refusing to write"), std::string::npos) << error;
  EXPECT_NE(error.find("al-extents 5"), std::string::npos) << error;
  uint8_t block[kSuperblockSizeBytes];
  f.file.read_at(f.layout.sb_offset_bytes, block, sizeof block);
  for (uint8_t b : block) ASSERT_EQ(b, 0);  // Nothing was written.
}

TEST(MetaFile, BitmapRoundTrip) {
  Fixture f;
  std::string error;
  std::vector<uint64_t> words(f.layout.bm_size_bytes / 8);
  for (size_t i = 0; i < words.size(); i++) words[i] = (i * 0x9E3779B97F4A7C15ull) ^ (i << 3);
  ASSERT_EQ(write_bitmap(f.fd.get(), f.layout, words, &error), 0) << error;
  std::vector<uint64_t> back;
  ASSERT_EQ(read_bitmap(f.fd.get(), f.layout, &back, &error), 0) << error;
  EXPECT_EQ(back, words);
  // Little endian on disk: bit 0 of word 0 is bit 0 of the area's first byte.
  uint8_t first[8];
  f.file.read_at(f.layout.bm_offset_bytes + 8, first, sizeof first);
  EXPECT_EQ(first[0], uint8_t(words[1]));
  EXPECT_EQ(first[7], uint8_t(words[1] >> 56));

  words.pop_back();
  EXPECT_EQ(write_bitmap(f.fd.get(), f.layout, words, &error), -EINVAL);
  EXPECT_NE(error.find("does not match the bitmap area"), std::string::npos) << error;
}

TEST(MetaFile, ZeroAl) {
  Fixture f;
  std::vector<uint8_t> junk(f.layout.al_size_bytes, 0xEE);
  f.file.write_at(f.layout.al_offset_bytes, junk.data(), junk.size());
  std::string error;
  ASSERT_EQ(zero_al(f.fd.get(), f.layout, &error), 0) << error;
  std::vector<uint8_t> back(f.layout.al_size_bytes, 1);
  f.file.read_at(f.layout.al_offset_bytes, back.data(), back.size());
  for (uint8_t b : back) ASSERT_EQ(b, 0);
}

}  // namespace
}  // namespace tandem::meta
