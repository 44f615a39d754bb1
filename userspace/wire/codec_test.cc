#include "wire/codec.h"

#include <gtest/gtest.h>

#include <vector>

#include "common/byte_order.h"
#include "common/crc32c.h"

namespace tandem::wire {
namespace {

// Encodes `m` (with its data block) into one contiguous frame.
std::vector<uint8_t> frame(const Message& m) {
  std::vector<uint8_t> out(kMaxEncodedFixedBytes);
  uint32_t n = encode(m, out.data());
  out.resize(n);
  uint32_t dl = data_block_length(m);
  const uint8_t* d = m.type == MsgType::Data ? m.data.data : m.resync.data;
  if (dl) out.insert(out.end(), d, d + dl);
  return out;
}

bool decode_frame(const std::vector<uint8_t>& f, Message* m, std::string* err) {
  FrameHeader h;
  if (!decode_header(f.data(), &h, err)) return false;
  if (h.payload_length != f.size() - kHeaderSize) {
    *err = "length";
    return false;
  }
  return decode_payload(h, f.data() + kHeaderSize, m, err);
}

TEST(WireCodec, DataRoundTrip) {
  std::vector<uint8_t> block(8192);
  for (size_t i = 0; i < block.size(); i++) block[i] = uint8_t(i * 13);
  Message m;
  m.type = MsgType::Data;
  m.data = {42, 1 << 20, 8192, kDataFua, block.data()};
  auto f = frame(m);
  Message out;
  std::string err;
  ASSERT_TRUE(decode_frame(f, &out, &err)) << err;
  EXPECT_EQ(out.data.seq, 42u);
  EXPECT_EQ(out.data.offset, 1u << 20);
  EXPECT_EQ(out.data.length, 8192u);
  EXPECT_EQ(out.data.flags, kDataFua);
  EXPECT_EQ(0, memcmp(out.data.data, block.data(), block.size()));
}

TEST(WireCodec, StateRoundTrip) {
  Message m;
  m.type = MsgType::State;
  m.state.role = Role::Primary;
  m.state.disk = DiskState::UpToDate;
  m.state.protocol = 'B';
  m.state.flags = kStateIsHandshake;
  m.state.data_size_bytes = 1 << 30;
  m.state.current_uuid = 0x1234567890abcdefULL;
  m.state.bitmap_uuid = 77;
  m.state.history = {1, 2, 3, 4};
  m.state.dirty_bytes = 4096;
  Message out;
  std::string err;
  ASSERT_TRUE(decode_frame(frame(m), &out, &err)) << err;
  EXPECT_EQ(out.state.role, Role::Primary);
  EXPECT_EQ(out.state.disk, DiskState::UpToDate);
  EXPECT_EQ(out.state.protocol, 'B');
  EXPECT_EQ(out.state.current_uuid, m.state.current_uuid);
  EXPECT_EQ(out.state.history, m.state.history);
  EXPECT_EQ(out.state.dirty_bytes, 4096u);
}

TEST(WireCodec, EveryFlippedBitIsDetected) {
  std::vector<uint8_t> block(512, 0xAB);
  Message m;
  m.type = MsgType::ResyncData;
  m.resync = {4096, 512, 0, block.data()};
  auto good = frame(m);
  for (size_t byte = 0; byte < good.size(); byte += 7) {
    auto bad = good;
    bad[byte] ^= 0x10;
    Message out;
    std::string err;
    EXPECT_FALSE(decode_frame(bad, &out, &err)) << "flip at byte " << byte << " went unnoticed";
    EXPECT_FALSE(err.empty());
  }
}

TEST(WireCodec, RejectsForeignMagicWithClearMessage) {
  std::vector<uint8_t> junk(kHeaderSize, 0);
  memcpy(junk.data(), "GET / HTTP/1.1\r\n", 16);
  FrameHeader h;
  std::string err;
  EXPECT_FALSE(decode_header(junk.data(), &h, &err));
  EXPECT_NE(err.find("bad frame magic"), std::string::npos) << err;
}

TEST(WireCodec, RejectsOtherVersion) {
  Message m;
  m.type = MsgType::Ping;
  auto f = frame(m);
  put_le16(f.data() + kHeaderVersionOffset, 9);
  put_le32(f.data() + kHeaderCrcOffset, crc32c(f.data(), kHeaderCrcOffset));
  FrameHeader h;
  std::string err;
  EXPECT_FALSE(decode_header(f.data(), &h, &err));
  EXPECT_NE(err.find("version 9"), std::string::npos) << err;
}

TEST(WireCodec, RejectsOversizedPayload) {
  Message m;
  m.type = MsgType::Ping;
  auto f = frame(m);
  put_le32(f.data() + kHeaderPayloadLengthOffset, kMaxPayloadBytes + 1);
  put_le32(f.data() + kHeaderCrcOffset, crc32c(f.data(), kHeaderCrcOffset));
  FrameHeader h;
  std::string err;
  EXPECT_FALSE(decode_header(f.data(), &h, &err));
  EXPECT_NE(err.find("limit"), std::string::npos) << err;
}

TEST(WireCodec, RejectsDataLengthMismatch) {
  // A correctly checksummed frame whose length field lies about its data block.
  std::vector<uint8_t> block(4096, 1);
  Message m;
  m.type = MsgType::Data;
  m.data = {1, 0, 4096, 0, block.data()};
  auto f = frame(m);
  put_le32(f.data() + kHeaderSize + 16, 8192);  // length field
  put_le32(f.data() + kHeaderPayloadCrcOffset, crc32c(f.data() + kHeaderSize, f.size() - kHeaderSize));
  put_le32(f.data() + kHeaderCrcOffset, crc32c(f.data(), kHeaderCrcOffset));
  Message out;
  std::string err;
  EXPECT_FALSE(decode_frame(f, &out, &err));
  EXPECT_NE(err.find("does not match"), std::string::npos) << err;
}

TEST(WireCodec, RejectsInvalidStateEnum) {
  Message m;
  m.type = MsgType::State;
  auto f = frame(m);
  f[kHeaderSize + 1] = 99;  // disk state
  put_le32(f.data() + kHeaderPayloadCrcOffset, crc32c(f.data() + kHeaderSize, f.size() - kHeaderSize));
  put_le32(f.data() + kHeaderCrcOffset, crc32c(f.data(), kHeaderCrcOffset));
  Message out;
  std::string err;
  EXPECT_FALSE(decode_frame(f, &out, &err));
  EXPECT_NE(err.find("invalid role"), std::string::npos) << err;
}

}  // namespace
}  // namespace tandem::wire

namespace tandem::wire {
namespace {
TEST(WireCodec, UncheckedDataBlockStillProtectsFixedFields) {
  std::vector<uint8_t> block(4096, 9);
  Message m;
  m.type = MsgType::Data;
  m.data = {7, 8192, 4096, 0, block.data()};
  std::vector<uint8_t> f(kMaxEncodedFixedBytes);
  f.resize(encode(m, f.data(), /*checksum_data=*/false));
  f.insert(f.end(), block.begin(), block.end());
  Message out;
  std::string err;
  FrameHeader h;
  ASSERT_TRUE(decode_header(f.data(), &h, &err)) << err;
  EXPECT_EQ(h.flags, kFrameDataUnchecked);
  ASSERT_TRUE(decode_payload(h, f.data() + kHeaderSize, &out, &err)) << err;
  EXPECT_EQ(out.data.offset, 8192u);
  auto bad = f;
  bad[kHeaderSize + 8] ^= 1;  // the offset field: still covered
  EXPECT_FALSE(decode_payload(h, bad.data() + kHeaderSize, &out, &err));
}
TEST(WireCodec, BitmapMessagesRoundTripAndBounds) {
  Message m;
  m.type = MsgType::BitmapChunk;
  m.bitmap_chunk.first_word = 1000;
  m.bitmap_chunk.count = 3;
  m.bitmap_chunk.words[0] = 1;
  m.bitmap_chunk.words[2] = 0x8000000000000000ULL;
  auto f = frame(m);
  EXPECT_EQ(f.size(), kHeaderSize + kBitmapChunkSize);
  Message out;
  std::string err;
  ASSERT_TRUE(decode_frame(f, &out, &err)) << err;
  EXPECT_EQ(out.bitmap_chunk.first_word, 1000u);
  EXPECT_EQ(out.bitmap_chunk.count, 3u);
  EXPECT_EQ(out.bitmap_chunk.words[2], 0x8000000000000000ULL);
  // A count beyond the chunk is refused (re-checksummed so only the value is wrong).
  put_le32(f.data() + kHeaderSize + 8, kBitmapChunkWords + 1);
  put_le32(f.data() + kHeaderPayloadCrcOffset, crc32c(f.data() + kHeaderSize, kBitmapChunkSize));
  put_le32(f.data() + kHeaderCrcOffset, crc32c(f.data(), kHeaderCrcOffset));
  EXPECT_FALSE(decode_frame(f, &out, &err));
  EXPECT_NE(err.find("word count"), std::string::npos) << err;

  Message d;
  d.type = MsgType::BitmapDone;
  d.bitmap_done = {4096, 77};
  auto g = frame(d);
  ASSERT_TRUE(decode_frame(g, &out, &err)) << err;
  EXPECT_EQ(out.bitmap_done.total_words, 4096u);
  EXPECT_EQ(out.bitmap_done.set_bits, 77u);
}

}  // namespace
}  // namespace tandem::wire

namespace tandem::wire {
namespace {

TEST(WireCodec, VerifyRoundTripWithAlgorithmAndFlags) {
  Message m;
  m.type = MsgType::VerifyReply;
  m.verify.offset = 1 << 20;
  m.verify.length = 64 * 4096;
  m.verify.result = -5;
  m.verify.alg = 4;  // sha256
  m.verify.flags = kVerifyForResync;
  for (size_t i = 0; i < m.verify.digests.size(); i++) m.verify.digests[i] = uint8_t(i * 7);
  auto f = frame(m);
  Message out;
  std::string err;
  ASSERT_TRUE(decode_frame(f, &out, &err)) << err;
  EXPECT_EQ(out.verify.offset, 1u << 20);
  EXPECT_EQ(out.verify.length, 64u * 4096);
  EXPECT_EQ(out.verify.result, -5);
  EXPECT_EQ(out.verify.alg, 4);
  EXPECT_EQ(out.verify.flags, kVerifyForResync);
  EXPECT_EQ(out.verify.digests, m.verify.digests);

  Message req;
  req.type = MsgType::VerifyRequest;
  req.verify.offset = 4096;
  req.verify.length = 4096;
  req.verify.alg = 1;
  ASSERT_TRUE(decode_frame(frame(req), &out, &err)) << err;
  EXPECT_EQ(out.verify.alg, 1);
  EXPECT_EQ(out.verify.flags, 0);
}

TEST(WireCodec, VerifyWithUnknownAlgorithmOrFlagsIsRefused) {
  Message m;
  m.type = MsgType::VerifyRequest;
  m.verify.offset = 0;
  m.verify.length = 4096;
  m.verify.alg = 9;
  std::string err;
  Message out;
  EXPECT_FALSE(decode_frame(frame(m), &out, &err));
  EXPECT_NE(err.find("unknown digest algorithm 9"), std::string::npos) << err;
  m.verify.alg = 1;
  m.verify.flags = 0x80;
  EXPECT_FALSE(decode_frame(frame(m), &out, &err));
  EXPECT_NE(err.find("unknown flags"), std::string::npos) << err;
}

}  // namespace
}  // namespace tandem::wire
