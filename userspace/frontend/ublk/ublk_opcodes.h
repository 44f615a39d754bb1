// Which opcode numbers to put in sqe->cmd_op. Linux 6.1-6.3 accept only the legacy numbers; 6.4 added the
// ioctl-encoded form and kernels built without CONFIG_BLKDEV_UBLK_LEGACY_OPCODES accept only that. The
// frontend tries ADD_DEV ioctl-encoded (with kFlagCmdIoctlEncode) first and falls back to legacy; the flags
// the kernel returns then decide the encoding of every later command for that device. Pure.
#pragma once

#include <cstdint>
#include <string_view>

#include "frontend/ublk/ublk_abi.h"

namespace tandem::ublk {

enum class Encoding : uint8_t { Legacy, Ioctl };

uint32_t ctrl_opcode(CtrlCmd cmd, Encoding enc);
uint32_t io_opcode(IoCmd cmd, Encoding enc);

// The encoding for a device, from the flags ADD_DEV returned and the encoding ADD_DEV was sent with.
Encoding encoding_for(uint64_t returned_flags, Encoding add_dev_sent_with);

std::string_view ctrl_name(CtrlCmd cmd);    // "ADD_DEV", ... for error messages
std::string_view encoding_name(Encoding enc);  // "legacy" / "ioctl"
bool parse_encoding(std::string_view s, Encoding* out);

}  // namespace tandem::ublk
