#include "frontend/fuse_loop/mount_table.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

TEST(MountTable, ParsesFieldsAndOptionalTags) {
  const char* text =
      "22 1 0:21 / /proc rw,nosuid shared:12 - proc proc rw\n"
      "40 22 7:3 / /mnt/data rw,relatime shared:20 master:1 - ext4 /dev/loop3 rw\n"
      "57 30 0:57 / /run/tandem/fuse-r0 rw,nosuid,nodev - fuse.tandem tandem:r0 rw,user_id=0\n";
  std::vector<MountEntry> m = parse_mountinfo(text);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[1].major, 7u);
  EXPECT_EQ(m[1].minor, 3u);
  EXPECT_EQ(m[1].mount_point, "/mnt/data");
  EXPECT_EQ(m[1].fstype, "ext4");
  EXPECT_EQ(m[1].source, "/dev/loop3");
  EXPECT_EQ(m[2].fstype, "fuse.tandem");
  EXPECT_EQ(m[2].source, "tandem:r0");
  EXPECT_TRUE(is_mount_point(m, "/run/tandem/fuse-r0"));
  EXPECT_FALSE(is_mount_point(m, "/run/tandem"));
}

TEST(MountTable, UnescapesOctal) {
  EXPECT_EQ(unescape_mount_field("/a\\040b\\011c\\134d"), "/a b\tc\\d");
  EXPECT_EQ(unescape_mount_field("/trailing\\04"), "/trailing\\04");  // Incomplete escape kept verbatim.
  EXPECT_EQ(unescape_mount_field("\\999"), "\\999");
  std::vector<MountEntry> m = parse_mountinfo("1 0 8:1 / /my\\040disk rw - ext4 /dev/sda1 rw\n");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].mount_point, "/my disk");
}

TEST(MountTable, SkipsMalformedLines) {
  const char* text =
      "garbage\n"
      "1 0 x:y / /bad rw - ext4 /dev/sda1 rw\n"       // Bad device numbers.
      "2 0 8:1 / /nodash rw ext4 /dev/sda1 rw x y\n"  // No separator.
      "3 0 8:1 / /short rw -\n"
      "\n"
      "4 0 8:2 / /good rw - xfs /dev/sda2 rw";  // No final newline.
  std::vector<MountEntry> m = parse_mountinfo(text);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].mount_point, "/good");
  EXPECT_EQ(m[0].minor, 2u);
}

TEST(MountTable, ReadsOwnMountTable) {
  std::vector<MountEntry> m;
  std::string error;
  ASSERT_EQ(read_mountinfo(&m, &error), 0) << error;
  EXPECT_TRUE(is_mount_point(m, "/"));
}

}  // namespace
}  // namespace tandem
