#include "frontend/ublk/ublk_params.h"

#include <bit>
#include <cstring>

#include <fmt/format.h>

namespace tandem::ublk {

namespace {
constexpr uint32_t kPageBytes = 4096;  // The kernel's PAGE_SIZE on the architectures we build for.
}

std::string check_shape(const DeviceShape& s) {
  if (s.block_bytes < 512 || s.block_bytes > kPageBytes || !std::has_single_bit(s.block_bytes))
    return fmt::format("block size {} is not a power of two between 512 and {}", s.block_bytes, kPageBytes);
  if (s.size_bytes < s.block_bytes)
    return fmt::format("the device ({} bytes) is smaller than one {}-byte block", s.size_bytes, s.block_bytes);
  if (s.nr_hw_queues == 0) return "at least one hardware queue is needed";
  if (s.queue_depth == 0 || s.queue_depth > kMaxQueueDepth)
    return fmt::format("queue depth {} is outside 1..{}", s.queue_depth, kMaxQueueDepth);
  if (s.max_io_bytes < s.block_bytes || s.max_io_bytes % kPageBytes != 0 || s.max_io_bytes > (1u << 30))
    return fmt::format("maximum I/O size {} is not a multiple of {} between one block and 1 GiB", s.max_io_bytes,
                       kPageBytes);
  if (s.max_discard_bytes < s.block_bytes || s.max_discard_bytes % s.block_bytes != 0)
    return fmt::format("maximum discard size {} is not a whole number of blocks", s.max_discard_bytes);
  return "";
}

ublksrv_ctrl_dev_info make_dev_info(const DeviceShape& shape, int32_t dev_id, Encoding enc, int32_t pid) {
  ublksrv_ctrl_dev_info info;
  std::memset(&info, 0, sizeof info);
  info.nr_hw_queues = shape.nr_hw_queues;
  info.queue_depth = shape.queue_depth;
  info.max_io_buf_bytes = shape.max_io_bytes;
  info.dev_id = static_cast<uint32_t>(dev_id);
  info.ublksrv_pid = pid;
  info.flags = kFlagUserRecovery | kFlagUserRecoveryReissue;
  if (enc == Encoding::Ioctl) info.flags |= kFlagCmdIoctlEncode;
  return info;
}

uint64_t device_sectors(const DeviceShape& shape) { return shape.size_bytes / shape.block_bytes * shape.block_bytes / 512; }

ublk_params make_params(const DeviceShape& shape, uint32_t max_io_buf_bytes) {
  ublk_params p;
  std::memset(&p, 0, sizeof p);
  p.len = sizeof p;
  p.types = UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_DISCARD;

  // A volatile cache with FUA: the kernel then sends flushes (fsync, barriers) and FUA writes, which the
  // replication core turns into its own durability points; without it every write would have to be durable
  // on completion.
  p.basic.attrs = UBLK_ATTR_VOLATILE_CACHE | UBLK_ATTR_FUA;
  if (shape.read_only) p.basic.attrs |= UBLK_ATTR_READ_ONLY;
  auto shift = static_cast<uint8_t>(std::countr_zero(shape.block_bytes));
  // All four shifts are used by the kernel as 1 << shift: leaving one 0 would advertise 1-byte I/O sizes.
  p.basic.logical_bs_shift = shift;
  p.basic.physical_bs_shift = shift;
  p.basic.io_min_shift = shift;
  p.basic.io_opt_shift = shift;
  // Requests never exceed a tag's buffer: the kernel copies data through it.
  p.basic.max_sectors = max_io_buf_bytes >> 9;
  p.basic.chunk_sectors = 0;
  p.basic.dev_sectors = device_sectors(shape);
  p.basic.virt_boundary_mask = 0;

  p.discard.discard_alignment = 0;
  p.discard.discard_granularity = shape.block_bytes;
  p.discard.max_discard_sectors = shape.max_discard_bytes >> 9;
  p.discard.max_write_zeroes_sectors = shape.max_discard_bytes >> 9;
  p.discard.max_discard_segments = 1;  // The only value 6.1 accepts with a non-zero maximum.
  return p;
}

}  // namespace tandem::ublk
