#include "config/config_change.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config.h"
#include "config/test_util.h"

namespace tandem::config {
namespace {

// kGoodR0 with `from` replaced by `to` (which must occur).
std::string edited(std::string_view from, std::string_view to) {
  std::string text(testing::kGoodR0);
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

ConfigChange change_to(const std::string& next_text, std::string_view host = "alpha") {
  Config a = testing::parse_ok(testing::kGoodR0);
  Config b = testing::parse_ok(next_text);
  return plan_config_change(a.resources[0], b.resources[0], host);
}

using Lines = std::vector<std::string>;

TEST(ConfigChange, TheSameFileChangesNothing) {
  EXPECT_TRUE(change_to(std::string(testing::kGoodR0)).empty());
}

TEST(ConfigChange, ADefaultWrittenOutIsNoChange) {
  // protocol C is the default: writing it or not is the same setting.
  ConfigChange c = change_to(edited("    protocol C;\n", ""));
  EXPECT_TRUE(c.empty()) << (c.reconnect.empty() ? "" : c.reconnect[0]);
}

TEST(ConfigChange, TheProtocolAndTheSecretNeedANewConnection) {
  ConfigChange c = change_to(edited("protocol C;", "protocol A;"));
  EXPECT_EQ(c.reconnect, (Lines{"net protocol C -> A"}));
  EXPECT_TRUE(c.live.empty() && c.needs_down.empty() && c.next_up.empty());
  c = change_to(edited("\"s3cret\"", "\"other\""));
  ASSERT_EQ(c.reconnect.size(), 1u);
  EXPECT_EQ(c.reconnect[0], "net shared-secret changed");  // never the secret itself
  EXPECT_EQ(c.reconnect[0].find("other"), std::string::npos);
}

TEST(ConfigChange, SplitBrainPoliciesAndFencingApplyAtOnce) {
  ConfigChange c =
      change_to(edited("protocol C;", "protocol C; after-sb-0pri discard-zero-changes; fencing resource-only;"));
  EXPECT_EQ(c.live, (Lines{"net after-sb-0pri (unset) -> discard-zero-changes",
                                  "net fencing (unset) -> resource-only"}));
  EXPECT_TRUE(c.reconnect.empty());
}

// Options nothing reads yet (or only when needed) never cost a reconnect: on a Primary that would mean fencing
// the peer and a resync for nothing.
TEST(ConfigChange, BufferSettingsAndTimeoutKeepTheConnection) {
  ConfigChange c = change_to(edited("protocol C;", "protocol C; max-buffers 8000; sndbuf-size 2M; timeout 90;"));
  EXPECT_TRUE(c.reconnect.empty()) << c.reconnect[0];
  EXPECT_EQ(c.live.size(), 3u);
}

TEST(ConfigChange, VerifyAlgNeedsANewConnection) {
  ConfigChange c = change_to(edited("protocol C;", "protocol C; verify-alg sha1;"));
  EXPECT_EQ(c.reconnect, (Lines{"net verify-alg (unset) -> sha1"}));
}

TEST(ConfigChange, ResyncRateIsLiveAndAlExtentsWaitsForTheNextUp) {
  ConfigChange c = change_to(edited("  volume 0 {", "  disk { resync-rate 10M; al-extents 3000; }\n  volume 0 {"));
  EXPECT_EQ(c.live, (Lines{"disk resync-rate (unset) -> 10M"}));
  EXPECT_EQ(c.next_up, (Lines{"disk al-extents (unset) -> 3000"}));
}

TEST(ConfigChange, DisksDeviceAndNodeIdsNeedDownAndUp) {
  ConfigChange c = change_to(edited("disk /dev/vg0/r0;", "disk /dev/vg0/other;"));
  EXPECT_EQ(c.needs_down, (Lines{"on alpha: disk /dev/vg0/r0 -> /dev/vg0/other"}));
  c = change_to(edited("node-id 1;", "node-id 2;"));
  EXPECT_EQ(c.needs_down, (Lines{"peer beta: node-id 1 -> 2"}));
}

TEST(ConfigChange, AddressesAreTheConnectionsSettings) {
  ConfigChange c = change_to(edited("10.99.0.2:7789", "10.99.0.2:7790"));
  EXPECT_EQ(c.reconnect, (Lines{"peer beta: address 10.99.0.2:7789 -> 10.99.0.2:7790"}));
  c = change_to(edited("10.99.0.2:7789", "10.99.0.2:7790"), "beta");
  EXPECT_EQ(c.reconnect, (Lines{"on beta: address 10.99.0.2:7789 -> 10.99.0.2:7790"}));
}

TEST(ConfigChange, HandlersAreLive) {
  ConfigChange c = change_to(edited("  volume 0 {", "  handlers { split-brain \"/bin/true\"; }\n  volume 0 {"));
  EXPECT_EQ(c.live, (Lines{"handlers split-brain (unset) -> /bin/true"}));
}

}  // namespace
}  // namespace tandem::config
