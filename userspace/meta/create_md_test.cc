#include "meta/create_md.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "common/byte_order.h"
#include "common/crc32c.h"
#include "io/signature_probe.h"
#include "meta/metadata_file.h"
#include "meta/temp_file_for_test.h"

namespace tandem::meta {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

CreateMdRequest request(const std::string& backing, const std::string& meta = "internal") {
  CreateMdRequest r;
  r.paths.backing_path = backing;
  r.paths.meta_path = meta;
  r.node_id = 0;
  r.peer_node_id = 1;
  r.probe = io::probe_signatures;
  return r;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// mkfs.ext4 lives in /usr/sbin, which is not always on PATH; empty if it is not installed.
std::string find_mkfs_ext4() {
  for (const char* p : {"/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4", "/usr/bin/mkfs.ext4"})
    if (::access(p, X_OK) == 0) return p;
  return {};
}

// Puts a real ext4 filesystem of `size_kib` (0: whole file) on `path`.
bool make_ext4(const std::string& path, uint64_t size_kib = 0) {
  std::string mkfs = find_mkfs_ext4();
  if (mkfs.empty()) return false;
  std::string cmd = mkfs + " -q -F " + path + (size_kib ? " " + std::to_string(size_kib) + "k" : "") + " 2>&1";
  return std::system(cmd.c_str()) == 0;
}

#define REQUIRE_MKFS_EXT4() \
  if (find_mkfs_ext4().empty()) GTEST_SKIP() << "mkfs.ext4 not installed (Debian package e2fsprogs)"

TEST(MetaCreateMd, FreshInternalFileIsReadableBack) {
  TempFile backing(64 * kMiB);
  CreateMdRequest req = request(backing.path());
  req.node_id = 2;
  req.peer_node_id = 5;
  req.al_extents = 3001;
  std::string msg;
  ASSERT_EQ(create_md(req, &msg), 0) << msg;
  EXPECT_TRUE(contains(msg, "tandem metadata created on " + backing.path() + " (internal, data size ")) << msg;
  EXPECT_TRUE(contains(msg, "bitmap 4 KiB")) << msg;

  Superblock sb;
  Layout layout;
  std::string error;
  ASSERT_EQ(read_md(req.paths, &sb, &layout, &error), 0) << error;
  EXPECT_EQ(sb.current_uuid, kUuidJustCreated);
  EXPECT_EQ(sb.flags, kFlagCleanShutdown);  // Not Consistent: Inconsistent until synced.
  EXPECT_EQ(sb.node_id, 2u);
  EXPECT_EQ(sb.peer_node_id, 5u);
  EXPECT_EQ(sb.al_extents, 3001u);
  EXPECT_EQ(sb.write_sequence, 1u);
  EXPECT_NE(sb.device_uuid, 0u);
  EXPECT_EQ(sb.bitmap_uuid, 0u);
  EXPECT_EQ(layout.kind, MdKind::Internal);
  EXPECT_EQ(layout.sb_offset_bytes, 64 * kMiB - 4096);
  EXPECT_EQ(layout.data_size_bytes, 64 * kMiB - 40 * 1024);

  struct stat st;
  ASSERT_EQ(::stat(backing.path().c_str(), &st), 0);
  EXPECT_EQ(uint64_t(st.st_size), 64 * kMiB);  // create-md never grows the backing file.
}

TEST(MetaCreateMd, FreshExternalMetaDisk) {
  TempFile backing(kMiB * 1024);
  TempFile meta(kMiB);
  CreateMdRequest req = request(backing.path(), meta.path());
  std::string msg;
  ASSERT_EQ(create_md(req, &msg), 0) << msg;
  EXPECT_TRUE(contains(msg, meta.path() + " for " + backing.path() + " (external, data size 1 GiB")) << msg;
  EXPECT_TRUE(contains(msg, "bitmap 32 KiB")) << msg;
  Superblock sb;
  Layout layout;
  std::string error;
  ASSERT_EQ(read_md(req.paths, &sb, &layout, &error), 0) << error;
  EXPECT_EQ(layout.data_size_bytes, 1024 * kMiB);
  EXPECT_EQ(layout.sb_offset_bytes, 0u);
  // The configuration must agree with what is on disk.
  MdPaths wrong{meta.path(), "internal"};
  EXPECT_NE(read_md(wrong, &sb, &layout, &error), 0);
}

TEST(MetaCreateMd, RefusesExistingMetadataWithoutForce) {
  TempFile backing(16 * kMiB);
  CreateMdRequest req = request(backing.path());
  std::string msg;
  ASSERT_EQ(create_md(req, &msg), 0) << msg;
  Superblock first;
  Layout layout;
  ASSERT_EQ(read_md(req.paths, &first, &layout, &msg), 0) << msg;

  EXPECT_EQ(create_md(req, &msg), -EEXIST);
  EXPECT_TRUE(contains(msg, "found existing tandem metadata on " + backing.path())) << msg;
  EXPECT_TRUE(contains(msg, "format version 1")) << msg;
  EXPECT_TRUE(contains(msg, fmt::format("device uuid {:016x}", first.device_uuid))) << msg;
  EXPECT_TRUE(contains(msg, "--force")) << msg;
  Superblock still;
  ASSERT_EQ(read_md(req.paths, &still, &layout, &msg), 0) << msg;
  EXPECT_EQ(still, first);  // Nothing was written.

  req.force = true;
  ASSERT_EQ(create_md(req, &msg), 0) << msg;
  Superblock second;
  ASSERT_EQ(read_md(req.paths, &second, &layout, &msg), 0) << msg;
  EXPECT_NE(second.device_uuid, first.device_uuid);
}

TEST(MetaCreateMd, DamagedMetadataNeedsForce) {
  TempFile backing(16 * kMiB);
  CreateMdRequest req = request(backing.path());
  std::string msg;
  ASSERT_EQ(create_md(req, &msg), 0) << msg;
  uint8_t byte = 0xFF;
  backing.write_at(16 * kMiB - 4096 + 300, &byte, 1);
  Superblock sb;
  Layout layout;
  DecodeResult r;
  EXPECT_EQ(read_md(req.paths, &sb, &layout, &msg, &r), -EBADMSG);
  EXPECT_EQ(r, DecodeResult::ChecksumMismatch);

  EXPECT_EQ(create_md(req, &msg), -EEXIST);
  EXPECT_TRUE(contains(msg, "it is damaged")) << msg;
  EXPECT_TRUE(contains(msg, "checksum mismatch")) << msg;
  req.force = true;
  ASSERT_EQ(create_md(req, &msg), 0) << msg;
  ASSERT_EQ(read_md(req.paths, &sb, &layout, &msg), 0) << msg;
}

TEST(MetaCreateMd, OtherVersionNeedsForce) {
  TempFile backing(16 * kMiB);
  CreateMdRequest req = request(backing.path());
  std::string msg;
  ASSERT_EQ(create_md(req, &msg), 0) << msg;
  uint8_t block[kSuperblockSizeBytes];
  backing.read_at(16 * kMiB - 4096, block, sizeof block);
  put_le32(block + sb::kVersionOff, 9);
  put_le32(block + sb::kCrcOff, 0);
  put_le32(block + sb::kCrcOff, crc32c(block, sizeof block));
  backing.write_at(16 * kMiB - 4096, block, sizeof block);
  EXPECT_EQ(create_md(req, &msg), -EEXIST);
  EXPECT_TRUE(contains(msg, "format version 9")) << msg;
}

TEST(MetaCreateMd, TooSmallNamesMinimumAndWritesNothing) {
  TempFile backing(512 * 1024);
  CreateMdRequest req = request(backing.path());
  std::string msg;
  EXPECT_EQ(create_md(req, &msg), -ENOSPC);
  EXPECT_TRUE(contains(msg, backing.path())) << msg;
  EXPECT_TRUE(contains(msg, "too small")) << msg;
  EXPECT_TRUE(contains(msg, "at least 1089536 bytes")) << msg;
  std::vector<uint8_t> all(512 * 1024, 1);
  backing.read_at(0, all.data(), all.size());
  for (uint8_t b : all) ASSERT_EQ(b, 0);

  TempFile big(kMiB * 1024);
  TempFile meta(16 * 1024);
  req = request(big.path(), meta.path());
  EXPECT_EQ(create_md(req, &msg), -ENOSPC);
  EXPECT_TRUE(contains(msg, "meta-disk (16384 bytes) is too small")) << msg;
  EXPECT_TRUE(contains(msg, "at least 69632 bytes")) << msg;
}

TEST(MetaCreateMd, RefusesBadArguments) {
  TempFile backing(16 * kMiB);
  std::string msg;
  CreateMdRequest req = request(backing.path());
  req.node_id = 32;
  EXPECT_EQ(create_md(req, &msg), -EINVAL);
  EXPECT_TRUE(contains(msg, "node-ids must be 0..31")) << msg;
  req = request(backing.path());
  req.peer_node_id = 0;
  EXPECT_EQ(create_md(req, &msg), -EINVAL);
  req = request(backing.path());
  req.al_extents = 6;
  EXPECT_EQ(create_md(req, &msg), -EINVAL);
  EXPECT_TRUE(contains(msg, "al-extents 6 is outside 7..65534")) << msg;
  req = request("/nonexistent/tandem-backing");
  EXPECT_EQ(create_md(req, &msg), -ENOENT);
  EXPECT_TRUE(contains(msg, "/nonexistent/tandem-backing")) << msg;
}

TEST(MetaCreateMd, RefusesFilesystemOnBackingUnlessForced) {
  REQUIRE_MKFS_EXT4();
  TempFile backing(16 * kMiB);
  ASSERT_TRUE(make_ext4(backing.path()));
  CreateMdRequest req = request(backing.path());
  std::string msg;
  EXPECT_EQ(create_md(req, &msg), -EEXIST);
  EXPECT_TRUE(contains(msg, "found an ext4 filesystem signature at offset 1080 on " + backing.path())) << msg;
  EXPECT_TRUE(contains(msg, "may extend into the area create-md would overwrite")) << msg;
  EXPECT_TRUE(contains(msg, "--force")) << msg;
  Superblock sb;
  Layout layout;
  EXPECT_EQ(read_md(req.paths, &sb, &layout, &msg), -ENODATA);  // Nothing written.

  req.force = true;
  ASSERT_EQ(create_md(req, &msg), 0) << msg;
  ASSERT_EQ(read_md(req.paths, &sb, &layout, &msg), 0) << msg;
}

TEST(MetaCreateMd, RefusesFilesystemInsideMetadataArea) {
  REQUIRE_MKFS_EXT4();
  // An ext4 filesystem whose start lies exactly where the metadata area would go.
  TempFile image(2 * kMiB);
  ASSERT_TRUE(make_ext4(image.path()));
  std::vector<uint8_t> head(4096);
  image.read_at(0, head.data(), head.size());

  TempFile backing(64 * kMiB);
  Layout layout;
  std::string msg;
  ASSERT_EQ(compute_layout({MdKind::Internal, 64 * kMiB, 0, 1}, &layout, &msg), 0);
  backing.write_at(layout.md_offset_bytes, head.data(), head.size());

  CreateMdRequest req = request(backing.path());
  EXPECT_EQ(create_md(req, &msg), -EEXIST);
  EXPECT_TRUE(contains(msg, fmt::format("found an ext4 filesystem signature at offset {} in the area create-md "
                                        "would overwrite",
                                        layout.md_offset_bytes + 1080)))
      << msg;
  req.force = true;
  ASSERT_EQ(create_md(req, &msg), 0) << msg;
}

TEST(MetaCreateMd, RefusesFilesystemOnExternalMetaDisk) {
  REQUIRE_MKFS_EXT4();
  TempFile backing(64 * kMiB);
  TempFile meta(4 * kMiB);
  ASSERT_TRUE(make_ext4(meta.path()));
  CreateMdRequest req = request(backing.path(), meta.path());
  std::string msg;
  EXPECT_EQ(create_md(req, &msg), -EEXIST);
  EXPECT_TRUE(contains(msg, "found an ext4 filesystem signature at offset 1080 in the area")) << msg;
  req.force = true;
  ASSERT_EQ(create_md(req, &msg), 0) << msg;
}

TEST(MetaCreateMd, FilesystemOnBackingIsFineWithExternalMeta) {
  REQUIRE_MKFS_EXT4();
  // External metadata does not touch the backing store, so a filesystem there is the normal case.
  TempFile backing(16 * kMiB);
  ASSERT_TRUE(make_ext4(backing.path()));
  TempFile meta(kMiB);
  CreateMdRequest req = request(backing.path(), meta.path());
  std::string msg;
  ASSERT_EQ(create_md(req, &msg), 0) << msg;
}

TEST(MetaCreateMd, ProbeFailureIsReported) {
  TempFile backing(16 * kMiB);
  CreateMdRequest req = request(backing.path());
  req.probe = [](int, uint64_t, uint64_t, std::vector<FoundSignature>*, std::string* error) {
    *error = "simulated";
    return -EIO;
  };
  std::string msg;
  EXPECT_EQ(create_md(req, &msg), -EIO);
  EXPECT_TRUE(contains(msg, "probing " + backing.path() + " for existing data failed: simulated")) << msg;
}

}  // namespace
}  // namespace tandem::meta
