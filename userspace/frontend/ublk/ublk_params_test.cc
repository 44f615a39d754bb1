// The ADD_DEV and SET_PARAMS payloads: 4 KiB blocks with every shift set, volatile cache + FUA, discard and
// write-zeroes with the single segment 6.1 insists on, and shapes the kernel would refuse caught before.
#include "frontend/ublk/ublk_params.h"

#include <gtest/gtest.h>

namespace tandem::ublk {
namespace {

DeviceShape shape_of(uint64_t size_bytes) {
  DeviceShape s;
  s.size_bytes = size_bytes;
  return s;
}

TEST(UblkParams, BasicAndDiscard) {
  DeviceShape s = shape_of((1ULL << 30) + 1000);  // not a whole number of blocks: rounded down
  ublk_params p = make_params(s, 256u << 10);
  EXPECT_EQ(p.len, sizeof(ublk_params));
  EXPECT_EQ(p.types, unsigned(UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_DISCARD));
  EXPECT_EQ(p.basic.attrs, unsigned(UBLK_ATTR_VOLATILE_CACHE | UBLK_ATTR_FUA));
  EXPECT_EQ(p.basic.logical_bs_shift, 12);
  EXPECT_EQ(p.basic.physical_bs_shift, 12);
  EXPECT_EQ(p.basic.io_min_shift, 12);
  EXPECT_EQ(p.basic.io_opt_shift, 12);
  EXPECT_EQ(p.basic.max_sectors, (256u << 10) >> 9);
  EXPECT_EQ(p.basic.dev_sectors, (1ULL << 30) >> 9);
  EXPECT_EQ(p.basic.chunk_sectors, 0u);
  EXPECT_EQ(p.basic.virt_boundary_mask, 0u);
  EXPECT_EQ(p.discard.discard_granularity, 4096u);
  EXPECT_EQ(p.discard.max_discard_sectors, (64u << 20) >> 9);
  EXPECT_EQ(p.discard.max_write_zeroes_sectors, (64u << 20) >> 9);
  EXPECT_EQ(p.discard.max_discard_segments, 1);
}

TEST(UblkParams, ReadOnlyAndKernelRoundedBuffer) {
  DeviceShape s = shape_of(64u << 20);
  s.read_only = true;
  ublk_params p = make_params(s, 128u << 10);  // ADD_DEV returned a smaller buffer than asked for
  EXPECT_TRUE(p.basic.attrs & UBLK_ATTR_READ_ONLY);
  EXPECT_TRUE(p.basic.attrs & UBLK_ATTR_VOLATILE_CACHE);
  EXPECT_EQ(p.basic.max_sectors, 256u);  // never more than the buffer: 6.1 refuses that with EINVAL
}

TEST(UblkParams, DevInfoAsksForRecoveryAndEncoding) {
  DeviceShape s = shape_of(64u << 20);
  s.nr_hw_queues = 2;
  s.queue_depth = 32;
  ublksrv_ctrl_dev_info legacy = make_dev_info(s, -1, Encoding::Legacy, 42);
  EXPECT_EQ(legacy.nr_hw_queues, 2);
  EXPECT_EQ(legacy.queue_depth, 32);
  EXPECT_EQ(legacy.max_io_buf_bytes, 256u << 10);
  EXPECT_EQ(legacy.dev_id, 0xffffffffu);  // the kernel picks
  EXPECT_EQ(legacy.ublksrv_pid, 42);
  EXPECT_EQ(legacy.flags, kFlagUserRecovery | kFlagUserRecoveryReissue);
  ublksrv_ctrl_dev_info ioctl = make_dev_info(s, 7, Encoding::Ioctl, 42);
  EXPECT_EQ(ioctl.dev_id, 7u);
  EXPECT_EQ(ioctl.flags, kFlagUserRecovery | kFlagUserRecoveryReissue | kFlagCmdIoctlEncode);
}

TEST(UblkParams, ShapeChecks) {
  EXPECT_EQ(check_shape(shape_of(1u << 20)), "");
  EXPECT_NE(check_shape(shape_of(100)).find("smaller than one 4096-byte block"), std::string::npos);
  DeviceShape s = shape_of(1u << 20);
  s.block_bytes = 8192;  // above the page size: 6.1 refuses logical_bs_shift > PAGE_SHIFT
  EXPECT_NE(check_shape(s), "");
  s = shape_of(1u << 20);
  s.block_bytes = 3000;
  EXPECT_NE(check_shape(s), "");
  s = shape_of(1u << 20);
  s.queue_depth = 4097;
  EXPECT_NE(check_shape(s).find("queue depth"), std::string::npos);
  s = shape_of(1u << 20);
  s.queue_depth = 0;
  EXPECT_NE(check_shape(s), "");
  s = shape_of(1u << 20);
  s.nr_hw_queues = 0;
  EXPECT_NE(check_shape(s), "");
  s = shape_of(1u << 20);
  s.max_io_bytes = 5000;
  EXPECT_NE(check_shape(s).find("maximum I/O size"), std::string::npos);
  s = shape_of(1u << 20);
  s.max_discard_bytes = 6000;
  EXPECT_NE(check_shape(s).find("discard"), std::string::npos);
}

TEST(UblkParams, SmallBlocksStillSetEveryShift) {
  DeviceShape s = shape_of(1u << 20);
  s.block_bytes = 512;
  ublk_params p = make_params(s, 64u << 10);
  EXPECT_EQ(p.basic.logical_bs_shift, 9);
  EXPECT_EQ(p.basic.io_min_shift, 9);
  EXPECT_EQ(p.discard.discard_granularity, 512u);
  EXPECT_EQ(device_sectors(s), 2048u);
}

}  // namespace
}  // namespace tandem::ublk
