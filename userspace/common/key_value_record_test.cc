#include "common/key_value_record.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace tandem {
namespace {

// Reads a "demo" record version 3 whose only known key, "n", must be a number.
bool read_demo(std::string_view text, std::map<std::string, std::string>* seen, std::string* error) {
  return read_key_value_record(
      text, "demo", 3,
      [&](std::string_view key, std::string_view value) {
        (*seen)[std::string(key)] = std::string(value);
        int n = 0;
        return key != "n" || parse_record_number(value, &n);
      },
      error);
}

TEST(KeyValueRecord, ReadsEveryFieldAndSkipsBlankLines) {
  std::map<std::string, std::string> seen;
  std::string error;
  ASSERT_TRUE(read_demo("demo 3\n\nn 42\npath /run/x y\nlater-key z", &seen, &error)) << error;
  EXPECT_EQ(seen["n"], "42");
  EXPECT_EQ(seen["path"], "/run/x y");  // the value is the rest of the line
  EXPECT_EQ(seen["later-key"], "z");    // unknown keys reach the caller, which ignores them
  EXPECT_EQ(seen.count("demo"), 0u);    // the header is not a field
}

TEST(KeyValueRecord, RefusesOtherVersionsBadValuesAndHeaderlessText) {
  std::map<std::string, std::string> seen;
  std::string error;
  EXPECT_FALSE(read_demo("demo 4\nn 1\n", &seen, &error));
  EXPECT_EQ(error, "record version 4 (this build reads version 3)");
  EXPECT_FALSE(read_demo("demo 3\nn x1\n", &seen, &error));
  EXPECT_EQ(error, "line 2: cannot read 'n x1'");
  EXPECT_FALSE(read_demo("n 1\n", &seen, &error));
  EXPECT_EQ(error, "incomplete record (no 'demo 3' line)");
  EXPECT_FALSE(read_demo("demo three\n", &seen, &error));
  EXPECT_EQ(error, "line 1: cannot read 'demo three'");
}

TEST(KeyValueRecord, NumbersAreWholeDecimals) {
  int n = 0;
  EXPECT_TRUE(parse_record_number("17", &n));
  EXPECT_EQ(n, 17);
  EXPECT_FALSE(parse_record_number("17 ", &n));
  EXPECT_FALSE(parse_record_number("", &n));
  unsigned u = 0;
  EXPECT_FALSE(parse_record_number("-1", &u));
}

}  // namespace
}  // namespace tandem
