// Every rejected configuration names FILE:LINE and the offending token. Each test breaks kGoodR0 (or a
// small text) in one way and checks the exact message, so a regression in wording is visible.
#include <gtest/gtest.h>

#include "config/config.h"
#include "config/test_util.h"

namespace tandem::config {
namespace {

using testing::kGoodR0;
using testing::parse_error;
using testing::replace;

std::string broken(std::string_view from, std::string_view to) { return parse_error(replace(kGoodR0, from, to)); }

TEST(ConfigErrors, UnknownKeywordInNet) {
  EXPECT_EQ(broken("    protocol C;", "    protocl C;"),
            "/etc/tandem/tandem.conf:3: unknown keyword 'protocl' in net section");
}

TEST(ConfigErrors, KeywordInWrongSectionNamesItsHome) {
  EXPECT_EQ(broken("protocol C;", "al-extents 100;"),
            "/etc/tandem/tandem.conf:3: keyword 'al-extents' is not allowed in net section (it belongs in the disk "
            "section)");
}

TEST(ConfigErrors, UnknownKeywordsElsewhere) {
  EXPECT_EQ(parse_error("resourse r0 {}"),
            "/etc/tandem/tandem.conf:1: unknown keyword 'resourse' at top level (expected global, common, resource, "
            "include or skip)");
  EXPECT_EQ(broken("node-id 0;", "node-id 0; adress 1.2.3.4:5;"),
            "/etc/tandem/tandem.conf:13: unknown keyword 'adress' in 'on alpha' section");
  EXPECT_EQ(broken("meta-disk internal;", "meta-disk internal; size 1G;"),
            "/etc/tandem/tandem.conf:10: unknown keyword 'size' in volume 0 section");
  EXPECT_EQ(broken("  net {", "  nett {"), "/etc/tandem/tandem.conf:2: unknown keyword 'nett' in resource r0");
  EXPECT_EQ(parse_error("common { neet { } }"),
            "/etc/tandem/tandem.conf:1: unknown keyword 'neet' in common section (expected net, disk, options, "
            "handlers or startup)");
  EXPECT_EQ(parse_error("global { usage-count no; dialog-refresh 1; foo; }"),
            "/etc/tandem/tandem.conf:1: unknown keyword 'foo' in global section");
}

TEST(ConfigErrors, MissingSemicolon) {
  EXPECT_EQ(broken("    protocol C;\n", "    protocol C\n"),
            "/etc/tandem/tandem.conf:4: missing ';' after 'protocol C' (found 'cram-hmac-alg')");
  EXPECT_EQ(broken("node-id 0;", "node-id 0"),
            "/etc/tandem/tandem.conf:14: missing ';' after 'node-id 0' (found 'address')");
  EXPECT_EQ(broken("address 10.99.0.1:7789;", "address 10.99.0.1:7789"),
            "/etc/tandem/tandem.conf:15: missing ';' after 'address 10.99.0.1:7789' (found '}')");
  EXPECT_EQ(broken("disk /dev/vg0/r0;", "disk /dev/vg0/r0"),
            "/etc/tandem/tandem.conf:10: missing ';' after 'disk /dev/vg0/r0' (found 'meta-disk')");
  EXPECT_EQ(broken("device /dev/tandem0 minor 0;", "device /dev/tandem0 minor 0"),
            "/etc/tandem/tandem.conf:9: missing ';' after 'device /dev/tandem0 minor 0' (found 'disk')");
  EXPECT_EQ(parse_error("global { disable-ip-verification }"),
            "/etc/tandem/tandem.conf:1: missing ';' after 'disable-ip-verification' (found '}')");
  EXPECT_EQ(parse_error("include \"x.conf\""), "/etc/tandem/tandem.conf:1: missing ';' after 'include x.conf' (found end of file)");
}

TEST(ConfigErrors, UnquotedHandlerCommandWithArguments) {
  EXPECT_EQ(broken("\"s3cret\";\n  }", "\"s3cret\";\n  }\n  handlers { split-brain /bin/notify root; }"),
            "/etc/tandem/tandem.conf:7: missing ';' after 'split-brain /bin/notify' (found 'root')");
}

TEST(ConfigErrors, MissingClosingBrace) {
  std::string text(kGoodR0);
  text.resize(text.rfind('}'));  // drop the resource's closing brace
  EXPECT_EQ(parse_error(text), "/etc/tandem/tandem.conf:20: missing '}' for resource r0 opened at line 1");
  EXPECT_EQ(parse_error("resource r0 {\n net { protocol C;\n"),
            "/etc/tandem/tandem.conf:3: missing '}' for net section opened at line 2");
  EXPECT_EQ(parse_error("skip { {\n}"), "/etc/tandem/tandem.conf:2: missing '}' for skip section opened at line 1");
}

TEST(ConfigErrors, SyntaxErrors) {
  EXPECT_EQ(parse_error("resource { }"), "/etc/tandem/tandem.conf:1: expected a resource name after 'resource', found '{'");
  EXPECT_EQ(parse_error("resource r0 ;"), "/etc/tandem/tandem.conf:1: expected '{' after resource r0, found ';'");
  EXPECT_EQ(parse_error("}"), "/etc/tandem/tandem.conf:1: unexpected '}' at top level");
  EXPECT_EQ(broken("  net {", "  net {\n ;"), "/etc/tandem/tandem.conf:3: unexpected ';' in net section");
  EXPECT_EQ(parse_error("resource \"a b\" {}"),
            "/etc/tandem/tandem.conf:1: invalid resource name 'a b' (use 1 to 64 letters, digits, '_', '-', '.' or '+')");
  EXPECT_EQ(parse_error("resource r0 {\n  net { shared-secret \"abc; }\n}"),
            "/etc/tandem/tandem.conf:2: unterminated quoted string (missing '\"')");
  EXPECT_EQ(broken("protocol C;", "protocol C; include \"x\";"),
            "/etc/tandem/tandem.conf:3: include is only allowed at top level, not in net section");
}

TEST(ConfigErrors, InvalidValues) {
  EXPECT_EQ(broken("protocol C;", "protocol D;"),
            "/etc/tandem/tandem.conf:3: invalid value 'D' for protocol (expected A, B or C)");
  EXPECT_EQ(broken("cram-hmac-alg sha256;", "cram-hmac-alg whirlpool;"),
            "/etc/tandem/tandem.conf:4: invalid value 'whirlpool' for cram-hmac-alg (expected one of: sha1, sha256, "
            "sha512, md5)");
  EXPECT_EQ(broken("\"s3cret\"", "\"" + std::string(65, 'x') + "\""),
            "/etc/tandem/tandem.conf:5: shared-secret must be 1 to 64 characters long (got 65)");
  EXPECT_EQ(broken("protocol C;", "protocol C; ping-int 1000;"),
            "/etc/tandem/tandem.conf:3: invalid value '1000' for ping-int (expected an integer from 1 to 120)");
  EXPECT_EQ(broken("protocol C;", "protocol C;\n  }\n  disk { c-max-rate 10Q; "),
            "/etc/tandem/tandem.conf:5: invalid value '10Q' for c-max-rate (expected a number with optional K, M or G "
            "suffix)");
}

TEST(ConfigErrors, DuplicateKeywordAndSection) {
  EXPECT_EQ(broken("protocol C;", "protocol C;\n protocol A;"),
            "/etc/tandem/tandem.conf:4: duplicate keyword 'protocol' in net section (first at /etc/tandem/tandem.conf:3)");
  EXPECT_EQ(broken("  volume 0 {", "  net { }\n  volume 0 {"),
            "/etc/tandem/tandem.conf:7: duplicate net section (first at /etc/tandem/tandem.conf:2)");
  EXPECT_EQ(broken("node-id 0;", "node-id 0; node-id 3;"),
            "/etc/tandem/tandem.conf:13: duplicate keyword 'node-id' in 'on alpha' section (first at "
            "/etc/tandem/tandem.conf:13)");
  EXPECT_EQ(broken("address 10.99.0.1:7789;", "address 10.99.0.1:7789; device /dev/drbd1; device /dev/drbd2;"),
            "/etc/tandem/tandem.conf:14: resource r0: duplicate keyword 'device' (first at /etc/tandem/tandem.conf:14)");
  EXPECT_EQ(parse_error(std::string(kGoodR0) + std::string(kGoodR0)),
            "/etc/tandem/tandem.conf:21: duplicate resource 'r0' (first at /etc/tandem/tandem.conf:1)");
  EXPECT_EQ(parse_error("common {}\ncommon {}"), "/etc/tandem/tandem.conf:2: duplicate common section");
}

TEST(ConfigErrors, DuplicateHost) {
  EXPECT_EQ(broken("on beta {", "on alpha {"),
            "/etc/tandem/tandem.conf:16: resource r0: duplicate host 'alpha' (first at /etc/tandem/tandem.conf:12)");
}

TEST(ConfigErrors, SameNodeIdTwice) {
  EXPECT_EQ(broken("node-id 1;", "node-id 0;"),
            "/etc/tandem/tandem.conf:17: resource r0: hosts alpha and beta both have node-id 0");
}

TEST(ConfigErrors, NodeIdOnOnlyOneHost) {
  EXPECT_EQ(broken("node-id 1;", ""),
            "/etc/tandem/tandem.conf:16: resource r0: host beta has no node-id (give node-id to all hosts or to none)");
}

TEST(ConfigErrors, NodeIdOutOfRange) {
  EXPECT_EQ(broken("node-id 1;", "node-id 32;"),
            "/etc/tandem/tandem.conf:17: invalid node-id '32' (expected an integer from 0 to 31)");
  EXPECT_EQ(broken("node-id 1;", "node-id one;"),
            "/etc/tandem/tandem.conf:17: invalid node-id 'one' (expected an integer from 0 to 31)");
}

TEST(ConfigErrors, MissingRequiredHostKeys) {
  EXPECT_EQ(broken("    address 10.99.0.2:7789;\n", ""), "/etc/tandem/tandem.conf:16: resource r0: host beta has no address");
  EXPECT_EQ(broken("    device /dev/tandem0 minor 0;\n", ""),
            "/etc/tandem/tandem.conf:11: resource r0: host alpha has no device (set it in 'on alpha' or in the "
            "resource's volume 0)");
  EXPECT_EQ(broken("    disk /dev/vg0/r0;\n", ""),
            "/etc/tandem/tandem.conf:11: resource r0: host alpha has no disk (set it in 'on alpha' or in the "
            "resource's volume 0)");
}

TEST(ConfigErrors, WrongNumberOfHosts) {
  std::string one = replace(kGoodR0, "  on beta {\n    node-id 1;\n    address 10.99.0.2:7789;\n  }\n", "");
  EXPECT_EQ(parse_error(one),
            "/etc/tandem/tandem.conf:1: resource r0: has 1 host section(s) ('on HOST {...}'); exactly 2 are needed");
  std::string three = replace(kGoodR0, "  on beta {", "  on gamma { node-id 2; address 10.99.0.3:7789; }\n  on beta {");
  EXPECT_EQ(parse_error(three),
            "/etc/tandem/tandem.conf:1: resource r0: has 3 host section(s) ('on HOST {...}'); exactly 2 are needed");
}

TEST(ConfigErrors, BadAddresses) {
  EXPECT_EQ(broken("10.99.0.2:7789", "10.99.0.2"),
            "/etc/tandem/tandem.conf:18: invalid address '10.99.0.2' (expected IPv4:PORT, e.g. 10.0.0.1:7789)");
  EXPECT_EQ(broken("10.99.0.2:7789", "10.99.0.256:7789"),
            "/etc/tandem/tandem.conf:18: invalid IPv4 address '10.99.0.256' in '10.99.0.256:7789'");
  EXPECT_EQ(broken("10.99.0.2:7789", "10.99.0:7789"),
            "/etc/tandem/tandem.conf:18: invalid IPv4 address '10.99.0' in '10.99.0:7789'");
  EXPECT_EQ(broken("10.99.0.2:7789", "10.99.0.2:0"),
            "/etc/tandem/tandem.conf:18: invalid port '0' in '10.99.0.2:0' (expected 1..65535)");
  EXPECT_EQ(broken("10.99.0.2:7789", "10.99.0.2:65536"),
            "/etc/tandem/tandem.conf:18: invalid port '65536' in '10.99.0.2:65536' (expected 1..65535)");
  EXPECT_EQ(broken("10.99.0.2:7789", "ipv6 [fd00::1]:7789"),
            "/etc/tandem/tandem.conf:18: address family 'ipv6' is not supported (only ipv4)");
  EXPECT_EQ(broken("10.99.0.2:7789", "10.99.0.1:7789"),
            "/etc/tandem/tandem.conf:18: resource r0: hosts alpha and beta both use address 10.99.0.1:7789");
}

TEST(ConfigErrors, OnlyVolumeZero) {
  EXPECT_EQ(broken("volume 0 {", "volume 1 {"),
            "/etc/tandem/tandem.conf:7: resource r0: only volume 0 is supported, found volume 1");
  EXPECT_EQ(broken("node-id 0;", "node-id 0; volume 0 { disk /dev/x; } volume 0 { }"),
            "/etc/tandem/tandem.conf:13: resource r0: duplicate volume 0");
}

TEST(ConfigErrors, DeviceForms) {
  EXPECT_EQ(broken("device /dev/tandem0 minor 0;", "device /dev/foo;"),
            "/etc/tandem/tandem.conf:8: device '/dev/foo' does not give a minor number; write 'device /dev/foo minor N;'");
  EXPECT_EQ(broken("device /dev/tandem0 minor 0;", "device;"),
            "/etc/tandem/tandem.conf:8: expected a device path or 'minor N' after 'device', found ';'");
  EXPECT_EQ(broken("device /dev/tandem0 minor 0;", "device /dev/x minor -2;"),
            "/etc/tandem/tandem.conf:8: invalid minor '-2' (expected an integer from 0 to 1048575)");
  EXPECT_EQ(broken("device /dev/tandem0 minor 0;", "device drbd0 minor 0;"),
            "/etc/tandem/tandem.conf:8: device path 'drbd0' must be absolute");
}

TEST(ConfigErrors, UnsupportedDrbdFeatures) {
  EXPECT_EQ(broken("disk /dev/vg0/r0;", "disk none;"),
            "/etc/tandem/tandem.conf:9: resource r0: diskless hosts ('disk none') are not supported");
  EXPECT_EQ(broken("meta-disk internal;", "meta-disk /dev/md 0;"),
            "/etc/tandem/tandem.conf:10: resource r0: indexed meta-disk ('/dev/md 0') is not supported; use internal "
            "or a whole device");
  EXPECT_EQ(broken("  on beta {", "  connection { }\n  on beta {"),
            "/etc/tandem/tandem.conf:16: resource r0: 'connection' sections are not supported (a resource has exactly "
            "two 'on' hosts)");
  EXPECT_EQ(broken("on beta {", "on beta gamma {"),
            "/etc/tandem/tandem.conf:16: resource r0: 'on' with several host names is not supported (found 'gamma' "
            "after 'beta')");
  EXPECT_EQ(broken("node-id 0;", "node-id 0; disk { al-extents 10; }"),
            "/etc/tandem/tandem.conf:13: resource r0: per-host or per-volume disk option sections are not supported; "
            "put disk options in the resource's disk section");
}

TEST(ConfigErrors, AuthenticationNeedsBothAlgAndSecret) {
  EXPECT_EQ(broken("    shared-secret \"s3cret\";\n", ""),
            "/etc/tandem/tandem.conf:1: resource r0: cram-hmac-alg is set but shared-secret is not (both are needed for "
            "peer authentication)");
  EXPECT_EQ(broken("    cram-hmac-alg sha256;\n", ""),
            "/etc/tandem/tandem.conf:1: resource r0: shared-secret is set but cram-hmac-alg is not (both are needed for "
            "peer authentication)");
}

TEST(ConfigErrors, RelativePathsAreRejected) {
  EXPECT_EQ(broken("disk /dev/vg0/r0;", "disk vg0/r0;"), "/etc/tandem/tandem.conf:9: disk path 'vg0/r0' must be absolute");
  EXPECT_EQ(broken("meta-disk internal;", "meta-disk md0;"),
            "/etc/tandem/tandem.conf:10: meta-disk path 'md0' must be absolute");
}

TEST(ConfigErrors, UnreadableFile) {
  Config c;
  std::string error;
  MemoryConfigFiles files;
  EXPECT_FALSE(parse_file("/nonexistent/tandem.conf", files, &c, &error));
  EXPECT_EQ(error, "/nonexistent/tandem.conf: cannot read configuration: No such file or directory");
}

}  // namespace
}  // namespace tandem::config

namespace tandem::config {
namespace {

// Robustness: every truncation and every single-byte deletion of a good file either parses or fails with
// a "FILE:LINE: " message; nothing crashes or reports without a location.
TEST(ConfigErrors, TruncationsAndDeletionsNeverCrash) {
  const std::string good(testing::kGoodR0);
  auto check = [](const std::string& text) {
    Config c;
    std::string error;
    if (!testing::parse_mem(text, &c, &error)) {
      EXPECT_EQ(error.rfind(std::string(testing::kTestFile) + ":", 0), 0u) << error;
    }
  };
  for (size_t n = 0; n <= good.size(); ++n) check(good.substr(0, n));
  for (size_t i = 0; i < good.size(); ++i) check(good.substr(0, i) + good.substr(i + 1));
}

}  // namespace
}  // namespace tandem::config
