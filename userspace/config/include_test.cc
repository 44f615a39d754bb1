// include: globs relative to the including file, nesting bound, cycles, on an in-memory tree and on disk.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/config.h"
#include "config/config_files.h"
#include "config/test_util.h"

namespace tandem::config {
namespace {

std::string resource_text(const std::string& name, int port) {
  std::string r = testing::replace(testing::kGoodR0, "resource r0", "resource " + name);
  r = testing::replace(r, "7789", std::to_string(port));
  return testing::replace(r, "7789", std::to_string(port));
}

TEST(ConfigInclude, GlobRelativeToIncludingFileInSortedOrder) {
  MemoryConfigFiles files;
  files.files["/etc/tandem/tandem.conf"] = "include \"global_common.conf\";\ninclude \"tandem.d/*.res\";\n";
  files.files["/etc/tandem/global_common.conf"] = "common { net { protocol B; } }\n";
  files.files["/etc/tandem/tandem.d/b.res"] = resource_text("rb", 7001);
  files.files["/etc/tandem/tandem.d/a.res"] = resource_text("ra", 7000);
  files.files["/etc/tandem/tandem.d/notes.txt"] = "garbage {";
  Config c;
  std::string error;
  ASSERT_TRUE(parse_file("/etc/tandem/tandem.conf", files, &c, &error)) << error;
  ASSERT_EQ(c.resources.size(), 2u);
  EXPECT_EQ(c.resources[0].name, "ra");
  EXPECT_EQ(c.resources[0].file, "/etc/tandem/tandem.d/a.res");
  EXPECT_EQ(c.resources[1].name, "rb");
  // common from an earlier include still reaches resources from later ones; the resource's own protocol wins.
  EXPECT_EQ(c.resources[0].net.protocol, 'C');
  ASSERT_NE(c.resources[0].net.get("protocol"), nullptr);
}

TEST(ConfigInclude, CommonAppliesRegardlessOfOrder) {
  MemoryConfigFiles files;
  std::string r = testing::replace(testing::kGoodR0, "    protocol C;\n", "");
  files.files["/c/main.conf"] = r + "include \"common.conf\";\n";
  files.files["/c/common.conf"] = "common { net { protocol A; } }\n";
  Config c;
  std::string error;
  ASSERT_TRUE(parse_file("/c/main.conf", files, &c, &error)) << error;
  EXPECT_EQ(c.resources[0].net.protocol, 'A');
}

TEST(ConfigInclude, ErrorsInIncludedFilesNameThatFile) {
  MemoryConfigFiles files;
  files.files["/c/main.conf"] = "\ninclude \"sub/*.res\";\n";
  files.files["/c/sub/x.res"] = "resource r0 {\n net { protocl C; }\n}\n";
  Config c;
  std::string error;
  EXPECT_FALSE(parse_file("/c/main.conf", files, &c, &error));
  EXPECT_EQ(error, "/c/sub/x.res:2: unknown keyword 'protocl' in net section");
}

TEST(ConfigInclude, MissingLiteralFileIsAnErrorButEmptyGlobIsNot) {
  MemoryConfigFiles files;
  files.files["/c/main.conf"] = "include \"none/*.res\";\ninclude \"missing.conf\";\n";
  Config c;
  std::string error;
  EXPECT_FALSE(parse_file("/c/main.conf", files, &c, &error));
  EXPECT_EQ(error, "/c/main.conf:2: cannot read included file '/c/missing.conf': No such file or directory");
}

TEST(ConfigInclude, AbsolutePatternIsUsedAsIs) {
  MemoryConfigFiles files;
  files.files["/c/main.conf"] = "include \"/other/r.res\";\n";
  files.files["/other/r.res"] = std::string(testing::kGoodR0);
  Config c;
  std::string error;
  ASSERT_TRUE(parse_file("/c/main.conf", files, &c, &error)) << error;
  EXPECT_EQ(c.resources.size(), 1u);
}

TEST(ConfigInclude, CycleIsDetected) {
  MemoryConfigFiles files;
  files.files["/c/a.conf"] = "include \"b.conf\";\n";
  files.files["/c/b.conf"] = "\ninclude \"a.conf\";\n";
  Config c;
  std::string error;
  EXPECT_FALSE(parse_file("/c/a.conf", files, &c, &error));
  EXPECT_EQ(error, "/c/b.conf:2: include cycle: /c/a.conf -> /c/b.conf -> /c/a.conf");
}

TEST(ConfigInclude, SelfIncludeIsACycle) {
  MemoryConfigFiles files;
  files.files["/c/a.conf"] = "include \"*.conf\";\n";
  Config c;
  std::string error;
  EXPECT_FALSE(parse_file("/c/a.conf", files, &c, &error));
  EXPECT_EQ(error, "/c/a.conf:1: include cycle: /c/a.conf -> /c/a.conf");
}

TEST(ConfigInclude, DepthIsBounded) {
  MemoryConfigFiles files;
  for (int i = 0; i < 40; ++i)
    files.files["/c/f" + std::to_string(i) + ".conf"] = "include \"f" + std::to_string(i + 1) + ".conf\";\n";
  Config c;
  std::string error;
  EXPECT_FALSE(parse_file("/c/f0.conf", files, &c, &error));
  EXPECT_EQ(error, "/c/f15.conf:1: includes nested deeper than 16 levels (including '/c/f16.conf')");
}

// The same through the real filesystem (glob(3), realpath(3)).
TEST(ConfigInclude, OnDisk) {
  char tmpl[] = "/tmp/tandem-config-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::filesystem::path dir(tmpl);
  std::filesystem::create_directory(dir / "d");
  std::ofstream(dir / "main.conf") << "include \"d/*.res\";\n";
  std::ofstream(dir / "d" / "r1.res") << resource_text("r1", 7001);
  std::ofstream(dir / "d" / "r0.res") << resource_text("r0", 7000);
  std::ofstream(dir / "loop.conf") << "include \"./loop.conf\";\n";
  Config c;
  std::string error;
  ASSERT_TRUE(parse_file((dir / "main.conf").string(), &c, &error)) << error;
  ASSERT_EQ(c.resources.size(), 2u);
  EXPECT_EQ(c.resources[0].name, "r0");
  EXPECT_EQ(c.resources[1].name, "r1");
  EXPECT_FALSE(parse_file((dir / "loop.conf").string(), &c, &error));
  EXPECT_NE(error.find("include cycle"), std::string::npos) << error;
  EXPECT_FALSE(parse_file((dir / "d").string(), &c, &error));
  EXPECT_EQ(error, (dir / "d").string() + ": cannot read configuration: not a regular file");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tandem::config
