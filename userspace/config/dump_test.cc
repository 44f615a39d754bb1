#include <gtest/gtest.h>

#include "config/config.h"
#include "config/test_util.h"

namespace tandem::config {
namespace {

void expect_round_trip(std::string_view text) {
  Config a = testing::parse_ok(text);
  ASSERT_FALSE(a.resources.empty());
  for (const ResourceConfig& r : a.resources) {
    std::string dumped = dump(r);
    Config b;
    std::string error;
    ASSERT_TRUE(testing::parse_mem(dumped, &b, &error)) << error << "\n" << dumped;
    ASSERT_EQ(b.resources.size(), 1u);
    EXPECT_TRUE(r.same_settings(b.resources[0])) << "dump:\n" << dumped << "re-dump:\n" << dump(b.resources[0]);
    EXPECT_EQ(dump(b.resources[0]), dumped);  // dump is a fixed point
  }
}

TEST(ConfigDump, ExactTextOfTheBasicResource) {
  Config c = testing::parse_ok(testing::kGoodR0);
  EXPECT_EQ(dump(c.resources[0]), R"(resource r0 {
    net {
        protocol C;
        cram-hmac-alg sha256;
        shared-secret "s3cret";
    }
    on alpha {
        node-id 0;
        address ipv4 10.99.0.1:7789;
        volume 0 {
            device /dev/tandem0 minor 0;
            disk /dev/vg0/r0;
            meta-disk internal;
        }
    }
    on beta {
        node-id 1;
        address ipv4 10.99.0.2:7789;
        volume 0 {
            device /dev/tandem0 minor 0;
            disk /dev/vg0/r0;
            meta-disk internal;
        }
    }
}
)");
}

TEST(ConfigDump, RoundTripBasic) { expect_round_trip(testing::kGoodR0); }

TEST(ConfigDump, RoundTripAllSectionsQuotingAndInheritance) {
  expect_round_trip(std::string(R"(
common { net { protocol B; ping-int 3; } disk { c-max-rate 400M; } startup { wfc-timeout 5; } }
resource "odd.name-1" {
  options { auto-promote no; quorum majority; }
  net { shared-secret "with \"quotes\" and \\ and spaces; {}"; cram-hmac-alg sha1; allow-two-primaries; }
  disk { disk-barrier no; al-extents 3389; }
  handlers { split-brain "/usr/lib/drbd/notify-split-brain.sh root"; fence-peer /bin/true; }
  on "host with space" { address 10.0.0.1:1; device minor 4; disk "/dev/disk by id/x"; meta-disk /dev/md; }
  on b { address 10.0.0.2:65535; device /dev/drbd4; disk /dev/y; }
}
)"));
}

TEST(ConfigDump, RoundTripDrbd84Style) {
  expect_round_trip(R"(resource data {
  on one { device /dev/drbd3; disk /dev/sdb1; address 192.168.1.10:7790; meta-disk internal; }
  on two { device /dev/drbd3; disk /dev/sdb2; address 192.168.1.11:7790; meta-disk internal; }
})");
}

TEST(ConfigDump, GlobalSection) {
  Config c = testing::parse_ok("global { usage-count no; disable-ip-verification; }");
  EXPECT_EQ(dump_global(c.global), "global {\n    usage-count no;\n    disable-ip-verification yes;\n}\n");
  EXPECT_EQ(dump_global(Section{}), "");
}

}  // namespace
}  // namespace tandem::config
