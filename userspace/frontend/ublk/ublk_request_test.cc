// Descriptor -> IoRequest translation and the result committed back: flush/FUA/discard/write-zeroes keep
// their meaning, ranges are checked against the buffer and the device, unknown operations never reach the
// target.
#include "frontend/ublk/ublk_request.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace tandem::ublk {
namespace {

constexpr uint32_t kBuf = 256u << 10;
constexpr uint64_t kDev = 1ULL << 30;

ublksrv_io_desc desc(uint32_t op_flags, uint64_t sector, uint32_t sectors) {
  ublksrv_io_desc d{};
  d.op_flags = op_flags;
  d.start_sector = sector;
  d.nr_sectors = sectors;
  return d;
}

TEST(UblkRequest, ReadWrite) {
  Translation r = translate(desc(UBLK_IO_OP_READ, 8, 8), kBuf, kDev);
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.op, IoOp::Read);
  EXPECT_FALSE(r.fua);
  EXPECT_EQ(r.offset, 4096u);
  EXPECT_EQ(r.length, 4096u);
  Translation w = translate(desc(UBLK_IO_OP_WRITE, 16, 512), kBuf, kDev);
  EXPECT_EQ(w.error, 0);
  EXPECT_EQ(w.op, IoOp::Write);
  EXPECT_FALSE(w.fua);
  EXPECT_EQ(w.offset, 8192u);
  EXPECT_EQ(w.length, kBuf);
}

TEST(UblkRequest, FuaFlushDiscardWriteZeroes) {
  Translation w = translate(desc(UBLK_IO_OP_WRITE | UBLK_IO_F_FUA, 0, 8), kBuf, kDev);
  EXPECT_EQ(w.op, IoOp::Write);
  EXPECT_TRUE(w.fua);
  Translation f = translate(desc(UBLK_IO_OP_FLUSH, 0, 0), kBuf, kDev);
  EXPECT_EQ(f.error, 0);
  EXPECT_EQ(f.op, IoOp::Flush);
  EXPECT_EQ(f.length, 0u);
  // Discard and write-zeroes carry no data, so they may be larger than the buffer.
  Translation t = translate(desc(UBLK_IO_OP_DISCARD, 2048, 131072), kBuf, kDev);
  EXPECT_EQ(t.error, 0);
  EXPECT_EQ(t.op, IoOp::Trim);
  EXPECT_EQ(t.offset, 1u << 20);
  EXPECT_EQ(t.length, 64u << 20);
  Translation z = translate(desc(UBLK_IO_OP_WRITE_ZEROES | UBLK_IO_F_NOUNMAP | UBLK_IO_F_FUA, 8, 8), kBuf, kDev);
  EXPECT_EQ(z.error, 0);
  EXPECT_EQ(z.op, IoOp::WriteZeroes);
  EXPECT_TRUE(z.fua);
  // FUA on a read means nothing; it is not passed on.
  EXPECT_FALSE(translate(desc(UBLK_IO_OP_READ | UBLK_IO_F_FUA, 0, 8), kBuf, kDev).fua);
}

TEST(UblkRequest, Refusals) {
  EXPECT_EQ(translate(desc(UBLK_IO_OP_WRITE_SAME, 0, 8), kBuf, kDev).error, -EOPNOTSUPP);
  EXPECT_EQ(translate(desc(10 /* ZONE_OPEN */, 0, 8), kBuf, kDev).error, -EOPNOTSUPP);
  EXPECT_EQ(translate(desc(UBLK_IO_OP_READ, 0, kBuf / 512 + 8), kBuf, kDev).error, -EIO);  // overruns the buffer
  EXPECT_EQ(translate(desc(UBLK_IO_OP_WRITE, kDev / 512 - 4, 8), kBuf, kDev).error, -EINVAL);  // past the end
  EXPECT_EQ(translate(desc(UBLK_IO_OP_DISCARD, kDev / 512, 8), kBuf, kDev).error, -EINVAL);
  EXPECT_EQ(translate(desc(UBLK_IO_OP_READ, UINT64_MAX / 256, 8), kBuf, kDev).error, -EINVAL);  // overflow
  EXPECT_EQ(translate(desc(UBLK_IO_OP_WRITE, kDev / 512 - 8, 8), kBuf, kDev).error, 0);        // last block
}

TEST(UblkRequest, CommitResult) {
  EXPECT_EQ(commit_result(IoOp::Read, 4096, 0), 4096);
  EXPECT_EQ(commit_result(IoOp::Write, 1u << 20, 0), 1 << 20);
  EXPECT_EQ(commit_result(IoOp::Flush, 0, 0), 0);
  EXPECT_EQ(commit_result(IoOp::Trim, 1u << 20, 0), 0);
  EXPECT_EQ(commit_result(IoOp::WriteZeroes, 4096, 0), 0);
  EXPECT_EQ(commit_result(IoOp::Write, 4096, -EROFS), -EROFS);
  EXPECT_EQ(commit_result(IoOp::Read, 4096, -EIO), -EIO);
  EXPECT_EQ(commit_result(IoOp::Flush, 0, -EIO), -EIO);
}

}  // namespace
}  // namespace tandem::ublk
