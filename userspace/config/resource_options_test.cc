#include "config/resource_options.h"

#include <gtest/gtest.h>

#include "config/config_change.h"
#include "config/test_util.h"

namespace tandem::config {
namespace {

TEST(ResourceOptions, SetsReplacesAndInterprets) {
  Config c = testing::parse_ok(testing::kGoodR0);
  ResourceConfig r = c.resources[0];
  std::string error;
  ASSERT_TRUE(set_resource_option(&r, SectionKind::Disk, "resync-rate", {"100M"}, &error)) << error;
  EXPECT_EQ(*r.disk.get("resync-rate"), "100M");
  ASSERT_TRUE(set_resource_option(&r, SectionKind::Disk, "resync-rate", {"50M"}, &error)) << error;
  EXPECT_EQ(*r.disk.get("resync-rate"), "50M");
  EXPECT_EQ(r.disk.options.size(), 1u);  // replaced, not added twice
  ASSERT_TRUE(set_resource_option(&r, SectionKind::Net, "protocol", {"A"}, &error)) << error;
  EXPECT_EQ(r.net.protocol, 'A');  // the interpreted field follows
  ConfigChange change = plan_config_change(c.resources[0], r, "alpha");
  EXPECT_EQ(change.live, (std::vector<std::string>{"disk resync-rate (unset) -> 50M"}));
  EXPECT_EQ(change.reconnect, (std::vector<std::string>{"net protocol C -> A"}));
}

TEST(ResourceOptions, RefusesUnknownKeywordsAndBadValuesAndChangesNothing) {
  Config c = testing::parse_ok(testing::kGoodR0);
  ResourceConfig r = c.resources[0];
  std::string error;
  EXPECT_FALSE(set_resource_option(&r, SectionKind::Disk, "protocol", {"A"}, &error));
  EXPECT_EQ(error, "unknown keyword 'protocol' in disk section (it belongs in the net section)");
  EXPECT_FALSE(set_resource_option(&r, SectionKind::Net, "protocol", {"D"}, &error));
  EXPECT_NE(error.find("protocol"), std::string::npos) << error;
  EXPECT_FALSE(set_resource_option(&r, SectionKind::Handlers, "split-brain", {"x"}, &error));
  EXPECT_TRUE(r.same_settings(c.resources[0]));
}

}  // namespace
}  // namespace tandem::config
