// Helpers shared by the config unit tests (header-only so no test code lands in tandem_pure).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "config/config.h"
#include "config/config_files.h"

namespace tandem::config::testing {

inline constexpr const char* kTestFile = "/etc/tandem/tandem.conf";

// A valid two-host resource in DRBD 9 style, used as the base that tests modify.
inline constexpr std::string_view kGoodR0 = R"(resource r0 {
  net {
    protocol C;
    cram-hmac-alg sha256;
    shared-secret "s3cret";
  }
  volume 0 {
    device /dev/tandem0 minor 0;
    disk /dev/vg0/r0;
    meta-disk internal;
  }
  on alpha {
    node-id 0;
    address 10.99.0.1:7789;
  }
  on beta {
    node-id 1;
    address 10.99.0.2:7789;
  }
}
)";

inline bool parse_mem(std::string_view text, Config* out, std::string* error) {
  MemoryConfigFiles files;
  return parse_string(text, kTestFile, files, out, error);
}

// Parses text that must fail and returns the error message.
inline std::string parse_error(std::string_view text) {
  Config c;
  std::string error;
  EXPECT_FALSE(parse_mem(text, &c, &error)) << "expected a parse error for:\n" << text;
  return error;
}

inline Config parse_ok(std::string_view text) {
  Config c;
  std::string error;
  EXPECT_TRUE(parse_mem(text, &c, &error)) << error;
  return c;
}

// Replaces the first occurrence of `from` in `text` (which must contain it).
inline std::string replace(std::string_view text, std::string_view from, std::string_view to) {
  std::string s(text);
  size_t pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << "test bug: '" << from << "' not in text";
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

}  // namespace tandem::config::testing
