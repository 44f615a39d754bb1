#include "frontend/ublk/ublk_record.h"

#include <gtest/gtest.h>

namespace tandem::ublk {
namespace {

TEST(UblkRecord, RoundTrip) {
  Record r{3, Encoding::Ioctl, 1234};
  std::string text = format_record(r);
  EXPECT_EQ(text, "tandem-ublk 1\ndev-id 3\nencoding ioctl\npid 1234\n");
  Record back;
  std::string error;
  ASSERT_TRUE(parse_record(text, &back, &error)) << error;
  EXPECT_EQ(back.dev_id, 3u);
  EXPECT_EQ(back.encoding, Encoding::Ioctl);
  EXPECT_EQ(back.pid, 1234);
}

TEST(UblkRecord, UnknownKeysAreIgnored) {
  Record back;
  std::string error;
  ASSERT_TRUE(parse_record("tandem-ublk 1\nfuture-key x\ndev-id 0\nencoding legacy\npid 1", &back, &error))
      << error;
  EXPECT_EQ(back.dev_id, 0u);
  EXPECT_EQ(back.encoding, Encoding::Legacy);
}

TEST(UblkRecord, Refusals) {
  Record back;
  std::string error;
  EXPECT_FALSE(parse_record("", &back, &error));
  EXPECT_NE(error.find("incomplete"), std::string::npos);
  EXPECT_FALSE(parse_record("tandem-ublk 2\ndev-id 1\nencoding legacy\npid 1\n", &back, &error));
  EXPECT_NE(error.find("version 2"), std::string::npos);
  EXPECT_FALSE(parse_record("tandem-ublk 1\ndev-id x\nencoding legacy\npid 1\n", &back, &error));
  EXPECT_NE(error.find("line 2"), std::string::npos);
  EXPECT_FALSE(parse_record("tandem-ublk 1\ndev-id 1\nencoding fast\npid 1\n", &back, &error));
  EXPECT_FALSE(parse_record("tandem-ublk 1\ndev-id 1\nencoding legacy\n", &back, &error));
  EXPECT_FALSE(parse_record("tandem-ublk 1\ndev-id -1\nencoding legacy\npid 1\n", &back, &error));
}

}  // namespace
}  // namespace tandem::ublk
