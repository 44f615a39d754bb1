// The text status names the Primary's kernel device and its frontend on the volume line, and only then.
#include "daemon/status_report.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

TEST(StatusReport, TextNamesDeviceAndFrontendWhilePrimary) {
  StatusSnapshot s;
  s.resource = "r0";
  s.peer_host = "beta";
  s.size_bytes = 1 << 20;
  std::string plain = format_status_text(s);
  EXPECT_NE(plain.find("\n  disk:"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("device:"), std::string::npos) << plain;
  s.frontend_kind = "ublk";
  s.frontend_device = "/dev/ublkb0";
  std::string text = format_status_text(s);
  EXPECT_NE(text.find(" device:/dev/ublkb0 frontend:ublk\n"), std::string::npos) << text;
  std::string json = format_status_json(s);
  EXPECT_NE(json.find("\"frontend\":{\"kind\":\"ublk\",\"device\":\"/dev/ublkb0\""), std::string::npos) << json;
}

}  // namespace
}  // namespace tandem
