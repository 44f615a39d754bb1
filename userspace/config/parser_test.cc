// Accepted configurations: DRBD 8.4 and 9 styles, inheritance, sections kept as key/value strings.
#include <gtest/gtest.h>

#include "config/config.h"
#include "config/test_util.h"

namespace tandem::config {
namespace {

using testing::kGoodR0;
using testing::parse_ok;

TEST(ConfigParser, Drbd9StyleWithResourceLevelVolume) {
  Config c = parse_ok(kGoodR0);
  ASSERT_EQ(c.resources.size(), 1u);
  ASSERT_EQ(c.resources.size(), 1u);
  const ResourceConfig& r = c.resources[0];
  EXPECT_EQ(r.name, "r0");
  EXPECT_EQ(r.file, testing::kTestFile);
  EXPECT_EQ(r.line, 1);
  EXPECT_EQ(r.net.protocol, 'C');
  EXPECT_EQ(r.net.cram_hmac_alg, "sha256");
  EXPECT_EQ(r.net.shared_secret, "s3cret");
  ASSERT_EQ(r.hosts.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const HostConfig& h = r.hosts[i];
    EXPECT_EQ(h.name, i == 0 ? "alpha" : "beta");
    EXPECT_EQ(h.node_id, i);
    EXPECT_EQ(h.address, i == 0 ? "10.99.0.1" : "10.99.0.2");
    EXPECT_EQ(h.port, 7789);
    EXPECT_EQ(h.volume.number, 0);
    EXPECT_EQ(h.volume.device, "/dev/tandem0");
    EXPECT_EQ(h.volume.minor, 0);
    EXPECT_EQ(h.volume.disk, "/dev/vg0/r0");
    EXPECT_EQ(h.volume.meta_disk, "internal");
  }
  EXPECT_EQ(c.find("r0"), &c.resources[0]);
  EXPECT_EQ(c.find("r1"), nullptr);
  EXPECT_EQ(r.find_host("beta"), &r.hosts[1]);
  EXPECT_EQ(r.find_host("gamma"), nullptr);
}

TEST(ConfigParser, Drbd84StyleWithoutNodeIdsOrVolumes) {
  Config c = parse_ok(R"(
# DRBD 8.4 style
resource data {
  net { protocol A; }
  on host-one {
    device    /dev/drbd3;
    disk      /dev/sdb1;
    address   192.168.1.10:7790;
    meta-disk /dev/sdc1;
  }
  on host-two {
    device    /dev/drbd3;
    disk      /dev/sdb2;
    address   ipv4 192.168.1.11:7790;
    meta-disk internal;
  }
}
)");
  ASSERT_EQ(c.resources.size(), 1u);
  ASSERT_EQ(c.resources.size(), 1u);
  const ResourceConfig& r = c.resources[0];
  EXPECT_EQ(r.net.protocol, 'A');
  EXPECT_EQ(r.hosts[0].node_id, 0);  // assigned in file order
  EXPECT_EQ(r.hosts[1].node_id, 1);
  EXPECT_EQ(r.hosts[0].volume.minor, 3);  // from /dev/drbd3
  EXPECT_EQ(r.hosts[0].volume.meta_disk, "/dev/sdc1");
  EXPECT_EQ(r.hosts[1].volume.disk, "/dev/sdb2");
  EXPECT_EQ(r.hosts[1].address, "192.168.1.11");
}

TEST(ConfigParser, VolumeInsideOnAndDeviceMinorForms) {
  Config c = parse_ok(R"(
resource "r9" {
  on "alpha" {
    node-id 5;
    address 10.0.0.1:7000;
    volume 0 { device minor 7; disk "/dev/vg/a"; }
  }
  on beta {
    node-id 2;
    address 10.0.0.2:7000;
    volume 0 { device /dev/my-dev minor 8; disk /dev/vg/b; meta-disk internal; }
  }
})");
  const ResourceConfig& r = c.resources.at(0);
  EXPECT_EQ(r.name, "r9");
  EXPECT_EQ(r.hosts[0].node_id, 5);
  EXPECT_EQ(r.hosts[0].volume.device, "");
  EXPECT_EQ(r.hosts[0].volume.minor, 7);
  EXPECT_EQ(r.hosts[0].volume.meta_disk, "internal");  // default when not written
  EXPECT_EQ(r.hosts[1].volume.device, "/dev/my-dev");
  EXPECT_EQ(r.hosts[1].volume.minor, 8);
  EXPECT_EQ(r.net.protocol, 'C');  // default
}

TEST(ConfigParser, HostSettingsOverrideResourceLevelVolume) {
  Config c = parse_ok(testing::replace(kGoodR0, "address 10.99.0.2:7789;", "address 10.99.0.2:7789; disk /dev/other;"));
  ASSERT_EQ(c.resources.size(), 1u);
  const ResourceConfig& r = c.resources[0];
  EXPECT_EQ(r.hosts[0].volume.disk, "/dev/vg0/r0");
  EXPECT_EQ(r.hosts[1].volume.disk, "/dev/other");
}

TEST(ConfigParser, CommonIsInheritedAndResourceOverrides) {
  Config c = parse_ok(std::string(R"(
global { usage-count no; }
common {
  net { protocol B; ping-int 7; max-buffers 8000; }
  disk { al-extents 3389; }
  handlers { split-brain "/bin/notify root"; }
  startup { wfc-timeout 30; }
  options { auto-promote no; }
}
)") + testing::replace(kGoodR0, "protocol C;", "protocol A; timeout 90;"));
  ASSERT_EQ(c.resources.size(), 1u);
  const ResourceConfig& r = c.resources[0];
  EXPECT_EQ(r.net.protocol, 'A');
  EXPECT_EQ(r.net.ping_int_s, 7);
  EXPECT_EQ(r.net.timeout_ds, 90);
  EXPECT_EQ(r.net.ping_timeout_ds, 5);  // default
  EXPECT_EQ(r.net.connect_int_s, 10);   // default
  ASSERT_NE(r.net.get("max-buffers"), nullptr);
  EXPECT_EQ(*r.net.get("max-buffers"), "8000");
  // Common order first, the resource's value replacing in place, new resource keys after.
  ASSERT_GE(r.net.options.size(), 4u);
  EXPECT_EQ(r.net.options[0], (std::pair<std::string, std::string>{"protocol", "A"}));
  EXPECT_EQ(*r.disk.get("al-extents"), "3389");
  EXPECT_EQ(*r.handlers.get("split-brain"), "/bin/notify root");
  EXPECT_EQ(*r.startup.get("wfc-timeout"), "30");
  EXPECT_EQ(*r.options.get("auto-promote"), "no");
  EXPECT_EQ(*c.global.get("usage-count"), "no");
}

TEST(ConfigParser, KeepsEveryKnownOptionAsNormalisedText) {
  Config c = parse_ok(testing::replace(kGoodR0, "shared-secret \"s3cret\";\n  }", R"(shared-secret "s3cret";
    after-sb-0pri discard-zero-changes; after-sb-1pri discard-secondary; after-sb-2pri disconnect;
    rr-conflict disconnect; verify-alg crc32c; csums-alg sha1; data-integrity-alg crc32c;
    fencing resource-only; timeout 60; connect-int 10; ping-int 10; ping-timeout 5; ko-count 7;
    max-buffers 2048; max-epoch-size 2048; sndbuf-size 0; rcvbuf-size 2M; allow-two-primaries;
    on-congestion pull-ahead; congestion-fill 1G; congestion-extents 1000; transport tcp;
  }
  disk {
    al-extents 1237; al-updates yes; on-io-error detach; disk-timeout 0; disk-barrier no;
    disk-flushes yes; disk-drain; md-flushes yes; resync-rate 250K; resync-after r9/0;
    c-plan-ahead 20; c-fill-target 100s; c-delay-target 10; c-max-rate 100M; c-min-rate 250k;
    rs-discard-granularity 0; read-balancing prefer-local;
  }
  options { auto-promote yes; quorum off; on-no-quorum suspend-io; }
  handlers { fence-peer "/usr/lib/drbd/crm-fence-peer.9.sh"; pri-lost /bin/true; }
  startup { wfc-timeout 0; degr-wfc-timeout 60; outdated-wfc-timeout 0; wait-after-sb; })"));
  ASSERT_EQ(c.resources.size(), 1u);
  const ResourceConfig& r = c.resources[0];
  EXPECT_EQ(r.net.options.size(), 25u);  // 22 written here + protocol, cram-hmac-alg, shared-secret
  EXPECT_EQ(*r.net.get("allow-two-primaries"), "yes");
  EXPECT_EQ(*r.net.get("rcvbuf-size"), "2M");
  EXPECT_EQ(*r.disk.get("disk-drain"), "yes");
  EXPECT_EQ(*r.disk.get("disk-barrier"), "no");
  EXPECT_EQ(r.disk.options.size(), 17u);
  EXPECT_EQ(*r.handlers.get("pri-lost"), "/bin/true");
  EXPECT_EQ(*r.startup.get("wait-after-sb"), "yes");
}

TEST(ConfigParser, SkipSectionsAreIgnoredAnywhere) {
  Config c = parse_ok(std::string("skip resource old { on x { nonsense here; } }\n") +
                      testing::replace(kGoodR0, "protocol C;", "protocol C; skip { whatever { nested; } }"));
  ASSERT_EQ(c.resources.size(), 1u);
  EXPECT_EQ(c.resources[0].name, "r0");
}

TEST(ConfigParser, SeveralResourcesKeepFileOrder) {
  std::string second = testing::replace(testing::replace(kGoodR0, "resource r0", "resource r1"), "7789", "7790");
  second = testing::replace(second, "7789", "7790");
  Config c = parse_ok(std::string(kGoodR0) + second);
  ASSERT_EQ(c.resources.size(), 2u);
  EXPECT_EQ(c.resources[1].name, "r1");
  EXPECT_EQ(c.resources[1].line, 21);
  EXPECT_EQ(c.resources[1].hosts[0].port, 7790);
}

TEST(ConfigParser, EmptyFileHasNoResources) {
  Config c = parse_ok("# nothing here\n");
  EXPECT_TRUE(c.resources.empty());
}

}  // namespace
}  // namespace tandem::config
