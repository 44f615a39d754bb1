#include "frontend/nbd_export/nbd_codec.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

namespace tandem::nbd {
namespace {

TEST(NbdCodec, GreetingBytes) {
  uint8_t buf[kGreetingBytes];
  encode_greeting(buf, kFlagFixedNewstyle | kFlagNoZeroes);
  EXPECT_EQ(0, std::memcmp(buf, "NBDMAGICIHAVEOPT", 16));
  EXPECT_EQ(buf[16], 0);
  EXPECT_EQ(buf[17], 3);
  uint16_t flags = 0;
  ASSERT_TRUE(decode_greeting(buf, &flags));
  EXPECT_EQ(flags, 3);
  buf[0] = 'X';
  EXPECT_FALSE(decode_greeting(buf, &flags));
}

TEST(NbdCodec, ClientFlagsBigEndian) {
  uint8_t buf[4];
  encode_client_flags(buf, kClientFlagFixedNewstyle | kClientFlagNoZeroes);
  EXPECT_EQ(buf[0], 0);
  EXPECT_EQ(buf[3], 3);
  EXPECT_EQ(decode_client_flags(buf), 3u);
}

TEST(NbdCodec, OptionHeaderRoundTripAndBadMagic) {
  uint8_t buf[kOptionHeaderBytes];
  encode_option_header(buf, {kOptGo, 0x01020304});
  EXPECT_EQ(0, std::memcmp(buf, "IHAVEOPT", 8));
  EXPECT_EQ(buf[11], kOptGo);
  EXPECT_EQ(buf[12], 1);
  OptionHeader h;
  ASSERT_TRUE(decode_option_header(buf, &h));
  EXPECT_EQ(h.option, kOptGo);
  EXPECT_EQ(h.length_bytes, 0x01020304u);
  buf[7] ^= 1;
  EXPECT_FALSE(decode_option_header(buf, &h));
}

TEST(NbdCodec, OptionReplyHeader) {
  uint8_t buf[kOptionReplyHeaderBytes];
  encode_option_reply_header(buf, {kOptInfo, kRepErrUnsup, 7});
  const uint8_t magic[8] = {0x00, 0x03, 0xe8, 0x89, 0x04, 0x55, 0x65, 0xa9};
  EXPECT_EQ(0, std::memcmp(buf, magic, 8));
  EXPECT_EQ(buf[12], 0x80);  // Error bit is the top bit of the type.
  EXPECT_EQ(buf[15], 0x01);
  OptionReplyHeader h;
  ASSERT_TRUE(decode_option_reply_header(buf, &h));
  EXPECT_EQ(h.option, kOptInfo);
  EXPECT_EQ(h.type, kRepErrUnsup);
  EXPECT_EQ(h.length_bytes, 7u);
  buf[0] = 1;
  EXPECT_FALSE(decode_option_reply_header(buf, &h));
}

TEST(NbdCodec, ExportNameReplyHonoursNoZeroes) {
  uint8_t buf[kExportNameReplyBytes + kExportNameZeroPadBytes];
  std::memset(buf, 0xff, sizeof buf);
  EXPECT_EQ(encode_export_name_reply(buf, 1ull << 32, 0x0103, true), 10u);
  EXPECT_EQ(buf[3], 1);  // 2^32 big-endian: byte 3 of 8.
  EXPECT_EQ(buf[8], 0x01);
  EXPECT_EQ(buf[9], 0x03);
  EXPECT_EQ(buf[10], 0xff);  // Pad untouched.
  EXPECT_EQ(encode_export_name_reply(buf, 512, 1, false), 134u);
  for (size_t i = 10; i < 134; i++) ASSERT_EQ(buf[i], 0) << i;
}

TEST(NbdCodec, InfoPayloads) {
  uint8_t e[kInfoExportBytes];
  encode_info_export(e, 0x1122334455667788ull, 0xabcd);
  const uint8_t want_e[12] = {0, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0xab, 0xcd};
  EXPECT_EQ(0, std::memcmp(e, want_e, 12));
  uint8_t b[kInfoBlockSizeBytes];
  encode_info_block_size(b, {1, 4096, 32u << 20});
  const uint8_t want_b[14] = {0, 3, 0, 0, 0, 1, 0, 0, 0x10, 0, 0x02, 0, 0, 0};
  EXPECT_EQ(0, std::memcmp(b, want_b, 14));
  std::vector<uint8_t> s;
  encode_info_string(&s, kInfoName, "r0");
  EXPECT_EQ(s, (std::vector<uint8_t>{0, 1, 'r', '0'}));
  std::vector<uint8_t> entry;
  encode_server_entry(&entry, "ab");
  EXPECT_EQ(entry, (std::vector<uint8_t>{0, 0, 0, 2, 'a', 'b'}));
}

TEST(NbdCodec, InfoRequestRoundTrip) {
  std::vector<uint8_t> buf;
  encode_info_request(&buf, {"disk", {kInfoBlockSize, kInfoName}});
  EXPECT_EQ(buf.size(), 4u + 4 + 2 + 4);
  InfoRequest r;
  std::string error;
  ASSERT_TRUE(decode_info_request(buf.data(), buf.size(), &r, &error)) << error;
  EXPECT_EQ(r.export_name, "disk");
  EXPECT_EQ(r.info_types, (std::vector<uint16_t>{kInfoBlockSize, kInfoName}));
}

TEST(NbdCodec, InfoRequestRejectsInconsistentLengths) {
  std::vector<uint8_t> buf;
  encode_info_request(&buf, {"disk", {kInfoName}});
  InfoRequest r;
  std::string error;
  EXPECT_FALSE(decode_info_request(buf.data(), 3, &r, &error));
  EXPECT_FALSE(decode_info_request(buf.data(), buf.size() - 1, &r, &error));  // Count says 1, only half there.
  buf.push_back(0);
  EXPECT_FALSE(decode_info_request(buf.data(), buf.size(), &r, &error));      // Trailing garbage.
  std::vector<uint8_t> huge = {0xff, 0xff, 0xff, 0xff, 0, 0};
  EXPECT_FALSE(decode_info_request(huge.data(), huge.size(), &r, &error));
  EXPECT_NE(error.find("4096"), std::string::npos);
  std::vector<uint8_t> nul = {0, 0, 0, 1, 0, 0, 0};
  EXPECT_FALSE(decode_info_request(nul.data(), nul.size(), &r, &error));
}

TEST(NbdCodec, RequestRoundTripAndBadMagic) {
  Request in;
  in.flags = kCmdFlagFua;
  in.type = kCmdWrite;
  in.cookie = 0xdeadbeefcafef00dull;
  in.offset = 0x0000000100000200ull;
  in.length_bytes = 4096;
  uint8_t buf[kRequestBytes];
  encode_request(buf, in);
  const uint8_t magic[4] = {0x25, 0x60, 0x95, 0x13};
  EXPECT_EQ(0, std::memcmp(buf, magic, 4));
  EXPECT_EQ(buf[5], 1);  // FUA
  EXPECT_EQ(buf[7], 1);  // WRITE
  Request out;
  ASSERT_TRUE(decode_request(buf, &out));
  EXPECT_EQ(out.flags, in.flags);
  EXPECT_EQ(out.type, in.type);
  EXPECT_EQ(out.cookie, in.cookie);
  EXPECT_EQ(out.offset, in.offset);
  EXPECT_EQ(out.length_bytes, in.length_bytes);
  buf[0] = 0x26;
  EXPECT_FALSE(decode_request(buf, &out));
}

TEST(NbdCodec, SimpleReplyRoundTrip) {
  uint8_t buf[kSimpleReplyBytes];
  encode_simple_reply(buf, {kErrNoSpc, 42});
  const uint8_t want[16] = {0x67, 0x44, 0x66, 0x98, 0, 0, 0, 28, 0, 0, 0, 0, 0, 0, 0, 42};
  EXPECT_EQ(0, std::memcmp(buf, want, 16));
  SimpleReply r;
  ASSERT_TRUE(decode_simple_reply(buf, &r));
  EXPECT_EQ(r.error, kErrNoSpc);
  EXPECT_EQ(r.cookie, 42u);
  buf[3] = 0;
  EXPECT_FALSE(decode_simple_reply(buf, &r));
}

TEST(NbdCodec, ErrnoMapping) {
  EXPECT_EQ(error_from_errno(0), kErrNone);
  EXPECT_EQ(error_from_errno(-EROFS), kErrPerm);
  EXPECT_EQ(error_from_errno(-EPERM), kErrPerm);
  EXPECT_EQ(error_from_errno(-EIO), kErrIo);
  EXPECT_EQ(error_from_errno(-ENOSPC), kErrNoSpc);
  EXPECT_EQ(error_from_errno(-EINVAL), kErrInval);
  EXPECT_EQ(error_from_errno(-ENOMEM), kErrNoMem);
  EXPECT_EQ(error_from_errno(-EOPNOTSUPP), kErrNotSup);
  EXPECT_EQ(error_from_errno(-ESHUTDOWN), kErrShutdown);
  EXPECT_EQ(error_from_errno(-ETIMEDOUT), kErrIo);  // Unknown errors look like failed I/O.
}

Request make(uint16_t type, uint64_t offset, uint32_t length, uint16_t flags = 0) {
  Request r;
  r.type = type;
  r.offset = offset;
  r.length_bytes = length;
  r.flags = flags;
  return r;
}

using Action = RequestVerdict::Action;

TEST(NbdCodec, CheckRequestAcceptsValidCommands) {
  auto v = check_request(make(kCmdRead, 0, 4096), 1 << 20, 32 << 20, false);
  EXPECT_EQ(v.action, Action::Submit);
  EXPECT_EQ(v.op, IoOp::Read);
  v = check_request(make(kCmdWrite, (1 << 20) - 512, 512, kCmdFlagFua), 1 << 20, 32 << 20, false);
  EXPECT_EQ(v.action, Action::Submit);
  EXPECT_EQ(v.op, IoOp::Write);
  EXPECT_EQ(check_request(make(kCmdFlush, 0, 0), 1 << 20, 32 << 20, false).op, IoOp::Flush);
  EXPECT_EQ(check_request(make(kCmdTrim, 0, 1 << 20), 1 << 20, 32 << 20, false).op, IoOp::Trim);
  EXPECT_EQ(check_request(make(kCmdWriteZeroes, 0, 1 << 20, kCmdFlagNoHole), 1 << 20, 32 << 20, false).op,
            IoOp::WriteZeroes);
  EXPECT_EQ(check_request(make(kCmdDisc, 0, 0), 1 << 20, 32 << 20, false).action, Action::Disc);
  EXPECT_EQ(check_request(make(kCmdRead, 0, 0), 1 << 20, 32 << 20, false).action, Action::ReplyOk);
  // Trim and write-zeroes carry no payload, so the maximum block size does not bound them.
  EXPECT_EQ(check_request(make(kCmdTrim, 0, 64 << 20), 1ull << 30, 32 << 20, false).action, Action::Submit);
}

TEST(NbdCodec, CheckRequestRefusesBadRequests) {
  const uint64_t size = 1 << 20;
  auto v = check_request(make(kCmdRead, size, 1), size, 32 << 20, false);
  EXPECT_EQ(v.action, Action::ReplyError);
  EXPECT_EQ(v.error, kErrInval);
  v = check_request(make(kCmdWrite, size - 1, 2), size, 32 << 20, false);
  EXPECT_EQ(v.error, kErrNoSpc);
  v = check_request(make(kCmdWriteZeroes, UINT64_MAX, 2), size, 32 << 20, false);  // Offset overflow.
  EXPECT_EQ(v.error, kErrNoSpc);
  v = check_request(make(kCmdTrim, size + 4096, 1), size, 32 << 20, false);
  EXPECT_EQ(v.error, kErrInval);
  v = check_request(make(kCmdRead, 0, (32 << 20) + 1), 1ull << 30, 32 << 20, false);
  EXPECT_EQ(v.action, Action::ReplyError);
  EXPECT_EQ(v.error, kErrInval);
  v = check_request(make(kCmdWrite, 0, (32 << 20) + 1), 1ull << 30, 32 << 20, false);
  EXPECT_EQ(v.action, Action::Disconnect);
  v = check_request(make(kCmdCache, 0, 512), size, 32 << 20, false);
  EXPECT_EQ(v.error, kErrInval);
  v = check_request(make(77, 0, 512), size, 32 << 20, false);
  EXPECT_EQ(v.error, kErrInval);
  v = check_request(make(kCmdRead, 0, 512, kCmdFlagDf), size, 32 << 20, false);
  EXPECT_EQ(v.error, kErrInval);
}

TEST(NbdCodec, CheckRequestReadOnly) {
  const uint64_t size = 1 << 20;
  EXPECT_EQ(check_request(make(kCmdWrite, 0, 512), size, 32 << 20, true).error, kErrPerm);
  EXPECT_EQ(check_request(make(kCmdTrim, 0, 512), size, 32 << 20, true).error, kErrPerm);
  EXPECT_EQ(check_request(make(kCmdWriteZeroes, 0, 512), size, 32 << 20, true).error, kErrPerm);
  EXPECT_EQ(check_request(make(kCmdRead, 0, 512), size, 32 << 20, true).action, Action::Submit);
  EXPECT_EQ(check_request(make(kCmdFlush, 0, 0), size, 32 << 20, true).action, Action::Submit);
}

}  // namespace
}  // namespace tandem::nbd
