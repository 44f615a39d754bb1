#include "json_extract.h"

#include <gtest/gtest.h>

namespace tandem::adm {
namespace {

// The example from docs/control-protocol.md, trimmed.
constexpr const char* kStatus = R"({"name":"r0","node-id":0,"host":"alpha","role":"Primary",
 "frontend":{"kind":"fuse-loop","device":"/dev/loop3"},
 "devices":[{"volume":0,"disk-state":"UpToDate","size":1073672192,"read":0,"written":123456}],
 "connections":[{"peer-node-id":1,"name":"beta","connection-state":"Connected","peer-role":"Secondary",
   "split-brain":false,
   "peer_devices":[{"volume":0,"replication-state":"SyncSource","peer-disk-state":"Inconsistent",
     "percent-in-sync":45.2,"resync-total":1000,"resync-done":452}]}],
 "generation":{"current":"ABC","history":["1","2"]}}
)";

TEST(JsonExtract, FindsFieldsByDottedPath) {
  JsonValue v;
  std::string error;
  ASSERT_TRUE(parse_json(kStatus, &v, &error)) << error;
  EXPECT_EQ(v.get_string("name"), "r0");
  EXPECT_EQ(v.get_number("node-id", -1), 0);
  EXPECT_EQ(v.get_string("devices.0.disk-state"), "UpToDate");
  EXPECT_EQ(v.get_number("devices.0.size"), 1073672192.0);
  EXPECT_EQ(v.get_string("connections.0.peer_devices.0.replication-state"), "SyncSource");
  EXPECT_DOUBLE_EQ(v.get_number("connections.0.peer_devices.0.percent-in-sync"), 45.2);
  EXPECT_FALSE(v.get_bool("connections.0.split-brain", true));
  EXPECT_EQ(v.get_string("generation.history.1"), "2");
}

TEST(JsonExtract, MissingOrMistypedPathsGiveFallbacks) {
  JsonValue v;
  std::string error;
  ASSERT_TRUE(parse_json(kStatus, &v, &error)) << error;
  EXPECT_EQ(v.find("nosuch"), nullptr);
  EXPECT_EQ(v.find("devices.1"), nullptr);
  EXPECT_EQ(v.find("devices.x"), nullptr);
  EXPECT_EQ(v.find("name.0"), nullptr);
  EXPECT_EQ(v.get_string("node-id", "fb"), "fb");  // a number, not a string
  EXPECT_EQ(v.get_number("name", 7), 7);
  EXPECT_EQ(v.find(""), &v);
}

TEST(JsonExtract, LiteralsEscapesAndNumbers) {
  JsonValue v;
  std::string error;
  ASSERT_TRUE(parse_json(R"( {"a":[true,false,null,-1.5e2,0],"s":"q\"\\\/\n\u00e9\ud83d\ude00x","e":{},"l":[]} )", &v,
                         &error))
      << error;
  EXPECT_TRUE(v.get_bool("a.0"));
  EXPECT_EQ(v.find("a.2")->kind, JsonValue::Kind::Null);
  EXPECT_EQ(v.get_number("a.3"), -150);
  EXPECT_EQ(v.get_string("s"), "q\"\\/\n\xc3\xa9\xf0\x9f\x98\x80x");
  EXPECT_EQ(v.find("e")->kind, JsonValue::Kind::Object);
  EXPECT_TRUE(v.find("l")->array.empty());
}

TEST(JsonExtract, RejectsMalformedInputWithOffset) {
  JsonValue v;
  std::string error;
  for (const char* bad : {"", "{", "{\"a\":}", "[1,]", "{\"a\" 1}", "\"abc", "tru", "01x", "{} x", "-", "1.",
                          "\"\\q\"", "\"\\u12g4\"", "{\"a\":1,}"}) {
    error.clear();
    EXPECT_FALSE(parse_json(bad, &v, &error)) << bad;
    EXPECT_NE(error.find("byte"), std::string::npos) << bad << ": " << error;
  }
}

TEST(JsonExtract, BoundsDepthAndSize) {
  JsonValue v;
  std::string error;
  std::string deep(kJsonMaxDepth + 2, '[');
  deep += std::string(kJsonMaxDepth + 2, ']');
  EXPECT_FALSE(parse_json(deep, &v, &error));
  EXPECT_NE(error.find("nested too deeply"), std::string::npos) << error;
  std::string ok(kJsonMaxDepth, '[');
  ok += std::string(kJsonMaxDepth, ']');
  EXPECT_TRUE(parse_json(ok, &v, &error)) << error;
  std::string big = "\"" + std::string(kJsonMaxInputBytes, 'x') + "\"";
  EXPECT_FALSE(parse_json(big, &v, &error));
  EXPECT_NE(error.find("larger than the limit"), std::string::npos) << error;
}

TEST(JsonExtract, QuoteRoundTrips) {
  std::string s = "a\"b\\c\nd\te\x01";
  EXPECT_EQ(json_quote(s), R"("a\"b\\c\nd\te\u0001")");
  JsonValue v;
  std::string error;
  ASSERT_TRUE(parse_json(json_quote(s), &v, &error)) << error;
  EXPECT_EQ(v.string, s);
}

}  // namespace
}  // namespace tandem::adm
