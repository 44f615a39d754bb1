// What the ublk device looks like to the kernel: the ADD_DEV request (queues, depth, buffer size, feature
// flags) and the SET_PARAMS block (size, 4 KiB blocks, volatile cache + FUA, discard and write-zeroes). Pure:
// builds and checks the structs with the rules Linux 6.1 applies (ublk_validate_params), so a bad shape is
// refused here with a message instead of an EINVAL from the kernel.
#pragma once

#include <cstdint>
#include <string>

#include "frontend/ublk/ublk_abi.h"
#include "frontend/ublk/ublk_opcodes.h"

namespace tandem::ublk {

struct DeviceShape {
  uint64_t size_bytes = 0;            // Rounded down to whole blocks.
  uint32_t block_bytes = 4096;        // Logical = physical = minimum I/O = optimal I/O.
  bool read_only = false;
  uint16_t nr_hw_queues = 1;
  uint16_t queue_depth = 64;
  uint32_t max_io_bytes = 256u << 10;       // Per request; every tag owns a buffer this big.
  uint32_t max_discard_bytes = 64u << 20;   // Per discard / write-zeroes request (no buffer needed).
};

// Refuses shapes the kernel would refuse (or that would make no sense): "" when fine, else the reason.
std::string check_shape(const DeviceShape& shape);

// ADD_DEV's payload. dev_id -1 lets the kernel pick. Flags: user recovery with reissue (a restarted daemon
// takes the device back and requests the dead one held are sent again), plus kFlagCmdIoctlEncode when the
// command goes out ioctl-encoded.
ublksrv_ctrl_dev_info make_dev_info(const DeviceShape& shape, int32_t dev_id, Encoding enc, int32_t pid);

// SET_PARAMS' payload for a device whose ADD_DEV returned `max_io_buf_bytes` (the kernel may round it).
ublk_params make_params(const DeviceShape& shape, uint32_t max_io_buf_bytes);

// Sectors (512 bytes) of the device for `shape`: the size rounded down to whole blocks.
uint64_t device_sectors(const DeviceShape& shape);

}  // namespace tandem::ublk
