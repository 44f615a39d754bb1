// The ublk kernel interface (include/uapi/linux/ublk_cmd.h) plus what the Linux 6.1 header lacks: the
// ioctl-encoded opcodes and UBLK_F_CMD_IOCTL_ENCODE that Linux 6.4 added. Byte tables: docs/kernel-frontends.md.
//
// The structs come from the system header (their layout is the kernel ABI); the static_asserts pin the sizes
// the encodings below depend on, so a header that disagrees fails the build instead of the device.
#pragma once

#include <linux/ioctl.h>
#include <linux/ublk_cmd.h>

#include <cstdint>

namespace tandem::ublk {

static_assert(sizeof(ublksrv_ctrl_cmd) == 32, "ublksrv_ctrl_cmd is 32 bytes in every kernel");
static_assert(sizeof(ublksrv_ctrl_dev_info) == 64, "ublksrv_ctrl_dev_info is 64 bytes in every kernel");
static_assert(sizeof(ublksrv_io_cmd) == 16, "ublksrv_io_cmd is 16 bytes in every kernel");
static_assert(sizeof(ublksrv_io_desc) == 24, "ublksrv_io_desc is 24 bytes in every kernel");
static_assert(sizeof(ublk_param_basic) == 32, "ublk_param_basic is 32 bytes");
static_assert(sizeof(ublk_param_discard) == 20, "ublk_param_discard is 20 bytes");

// Feature flags (ublksrv_ctrl_dev_info::flags). Defined here by value: older headers miss some of them.
inline constexpr uint64_t kFlagUserRecovery = 1ULL << 3;         // 6.0: a restarted server takes the device back
inline constexpr uint64_t kFlagUserRecoveryReissue = 1ULL << 4;  // 6.0: requests the dead server held are requeued
inline constexpr uint64_t kFlagCmdIoctlEncode = 1ULL << 6;       // 6.4: ioctl-encoded opcodes

// Device states (ublksrv_ctrl_dev_info::state).
inline constexpr uint16_t kStateDead = 0;      // added, or stopped: no /dev/ublkbN
inline constexpr uint16_t kStateLive = 1;      // /dev/ublkbN exists and is served
inline constexpr uint16_t kStateQuiesced = 2;  // the server died; requests wait for a recovering server

// The UBLK_IO_RES_ABORT completion: the device is going away; the tag must not be re-armed.
inline constexpr int kIoResAbort = -19;  // -ENODEV

// The kernel reads at most this many descriptors per queue (UBLK_MAX_QUEUE_DEPTH); queue q's descriptor
// array sits at mmap offset q * kMaxDescBytes on /dev/ublkcN.
inline constexpr uint32_t kMaxQueueDepth = 4096;
inline constexpr uint64_t kMaxDescBytes = uint64_t{kMaxQueueDepth} * sizeof(ublksrv_io_desc);

// Command numbers; the legacy opcode is the number itself, the ioctl-encoded one is _IOWR('u', nr, payload).
enum class CtrlCmd : uint8_t {
  GetQueueAffinity = 0x01,
  GetDevInfo = 0x02,
  AddDev = 0x04,
  DelDev = 0x05,
  StartDev = 0x06,
  StopDev = 0x07,
  SetParams = 0x08,
  GetParams = 0x09,
  StartUserRecovery = 0x10,
  EndUserRecovery = 0x11,
};

enum class IoCmd : uint8_t {
  FetchReq = 0x20,
  CommitAndFetchReq = 0x21,
};

}  // namespace tandem::ublk
