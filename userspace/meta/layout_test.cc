#include "meta/layout.h"

#include <gtest/gtest.h>

#include "meta/format.h"
#include "meta/superblock.h"

namespace tandem::meta {
namespace {

constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kKiB = 1ull << 10;

TEST(MetaLayout, BitmapSizing) {
  EXPECT_EQ(bitmap_slot_size_bytes(4096), 4096u);          // One bit, rounded up to a block.
  EXPECT_EQ(bitmap_slot_size_bytes(128 * kMiB), 4096u);    // 32768 bits = exactly one block.
  EXPECT_EQ(bitmap_slot_size_bytes(128 * kMiB + 4096), 8192u);
  EXPECT_EQ(bitmap_slot_size_bytes(kGiB), 32 * kKiB);
  EXPECT_EQ(bitmap_slot_size_bytes(1ull << 40), 32 * kMiB);  // 32 MiB per TiB, as in DRBD.
}

// The worked example of docs/format.md.
TEST(MetaLayout, InternalOneGiB) {
  Layout l;
  std::string error;
  ASSERT_EQ(compute_layout({MdKind::Internal, kGiB, 0, 1}, &l, &error), 0) << error;
  EXPECT_EQ(l.data_size_bytes, kGiB - 68 * kKiB);
  EXPECT_EQ(l.md_size_bytes, 68 * kKiB);
  EXPECT_EQ(l.md_offset_bytes, kGiB - 68 * kKiB);
  EXPECT_EQ(l.bm_offset_bytes, kGiB - 68 * kKiB);
  EXPECT_EQ(l.bm_size_bytes, 32 * kKiB);
  EXPECT_EQ(l.al_offset_bytes, kGiB - 36 * kKiB);
  EXPECT_EQ(l.al_size_bytes, 32 * kKiB);
  EXPECT_EQ(l.sb_offset_bytes, kGiB - 4 * kKiB);
}

TEST(MetaLayout, ExternalOneGiB) {
  Layout l;
  std::string error;
  ASSERT_EQ(compute_layout({MdKind::External, kGiB, 128 * kMiB, 1}, &l, &error), 0) << error;
  EXPECT_EQ(l.data_size_bytes, kGiB);
  EXPECT_EQ(l.md_offset_bytes, 0u);
  EXPECT_EQ(l.sb_offset_bytes, 0u);
  EXPECT_EQ(l.al_offset_bytes, 4 * kKiB);
  EXPECT_EQ(l.bm_offset_bytes, 36 * kKiB);
  EXPECT_EQ(l.md_size_bytes, 68 * kKiB);
}

TEST(MetaLayout, InternalIsMaximalAndFitsForManySizes) {
  // Sizes around bitmap-block boundaries, where the circular dependency matters.
  for (uint64_t base : {2 * kMiB, 128 * kMiB, 256 * kMiB, kGiB, 5 * kGiB + 12345}) {
    for (int64_t delta = -80 * 1024; delta <= 80 * 1024; delta += 4096 + 511) {
      uint64_t backing = base + delta;
      Layout l;
      std::string error;
      ASSERT_EQ(compute_layout({MdKind::Internal, backing, 0, 1}, &l, &error), 0) << backing << ": " << error;
      uint64_t aligned = backing / 4096 * 4096;
      EXPECT_EQ(l.md_offset_bytes + l.md_size_bytes, aligned);
      EXPECT_LE(l.data_size_bytes, l.md_offset_bytes);
      EXPECT_EQ(l.md_size_bytes, md_area_size_bytes(l.data_size_bytes, 1));
      EXPECT_EQ(l.data_size_bytes % 4096, 0u);
      // One more block of data would not fit.
      uint64_t more = l.data_size_bytes + 4096;
      EXPECT_GT(more + md_area_size_bytes(more, 1), aligned) << backing;
      // And the stored description passes the superblock checks.
      Superblock s;
      store_layout(l, &s);
      s.peer_node_id = 1;
      EXPECT_EQ(validate(s), "") << backing;
    }
  }
}

TEST(MetaLayout, TooSmallNamesTheMinimum) {
  Layout l;
  std::string error;
  EXPECT_EQ(compute_layout({MdKind::Internal, 1 * kMiB, 0, 1}, &l, &error), -ENOSPC);
  uint64_t min = kMinDataSizeBytes + md_area_size_bytes(kMinDataSizeBytes, 1);
  EXPECT_NE(error.find("too small for internal metadata: at least " + std::to_string(min) + " bytes"),
            std::string::npos)
      << error;
  EXPECT_EQ(compute_layout({MdKind::Internal, min, 0, 1}, &l, &error), 0) << error;
  EXPECT_EQ(l.data_size_bytes, kMinDataSizeBytes);

  EXPECT_EQ(compute_layout({MdKind::External, kGiB, 64 * kKiB, 1}, &l, &error), -ENOSPC);
  EXPECT_NE(error.find("meta-disk (65536 bytes) is too small"), std::string::npos) << error;
  EXPECT_NE(error.find("at least 69632 bytes"), std::string::npos) << error;
  EXPECT_EQ(compute_layout({MdKind::External, 4096, kMiB, 1}, &l, &error), -ENOSPC);
  EXPECT_NE(error.find("at least 1048576 bytes"), std::string::npos) << error;
}

TEST(MetaLayout, FromSuperblockRoundTrip) {
  for (MdKind kind : {MdKind::Internal, MdKind::External}) {
    Layout l;
    std::string error;
    uint64_t meta_disk = 10 * kMiB;
    ASSERT_EQ(compute_layout({kind, kGiB, meta_disk, 1}, &l, &error), 0) << error;
    Superblock s;
    store_layout(l, &s);
    uint64_t md_dev = kind == MdKind::Internal ? kGiB : meta_disk;
    uint64_t sb_off = 0;
    ASSERT_EQ(superblock_offset(kind, md_dev, &sb_off, &error), 0);
    EXPECT_EQ(sb_off, l.sb_offset_bytes);
    Layout back;
    ASSERT_EQ(layout_from_superblock(s, sb_off, md_dev, kGiB, &back, &error), 0) << error;
    EXPECT_EQ(back.md_offset_bytes, l.md_offset_bytes);
    EXPECT_EQ(back.bm_offset_bytes, l.bm_offset_bytes);
    EXPECT_EQ(back.al_offset_bytes, l.al_offset_bytes);
    EXPECT_EQ(back.data_size_bytes, l.data_size_bytes);
    // A backing store that shrank is noticed.
    if (kind == MdKind::External) {
      EXPECT_EQ(layout_from_superblock(s, sb_off, md_dev, kGiB / 2, &back, &error), -EUCLEAN);
      EXPECT_NE(error.find("was it shrunk"), std::string::npos) << error;
    }
  }
}

TEST(MetaLayout, FormatSize) {
  EXPECT_EQ(format_size(0), "0 B");
  EXPECT_EQ(format_size(32 * kKiB), "32 KiB");
  EXPECT_EQ(format_size(kGiB), "1 GiB");
  EXPECT_EQ(format_size(kGiB + kGiB / 2), "1.5 GiB");
  EXPECT_EQ(format_size(kGiB - 68 * kKiB), "1023.9 MiB");
}

}  // namespace
}  // namespace tandem::meta
