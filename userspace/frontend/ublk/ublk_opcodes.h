// Which opcode numbers to put in sqe->cmd_op. Linux 6.1-6.3 accept only the legacy numbers; 6.4 added the
// ioctl-encoded form ("block: ublk: switch to ioctl command encoding", April 2023; from then on ADD_DEV also
// returns kFlagCmdIoctlEncode) and kernels built without CONFIG_BLKDEV_UBLK_LEGACY_OPCODES accept only that.
// The frontend tries ADD_DEV ioctl-encoded (with kFlagCmdIoctlEncode) first and falls back to legacy only when
// the answer means "unknown command" (add_dev_fallback_to_legacy); the flags the kernel returns then decide the
// encoding of every later command for that device. Pure.
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

// Whether the error an ioctl-encoded ADD_DEV got means the kernel does not know that opcode, so the legacy one
// is worth a try: -ENODEV (6.1: an unknown control opcode falls through with -ENODEV; 6.2/6.3: it is taken for
// a command on device dev_id, and -1 names none), -EOPNOTSUPP / -ENOTSUPP (an unknown opcode on an existing
// device). Anything else (-EPERM, -ENOMEM, -EINVAL for the request itself) is the real answer.
bool add_dev_fallback_to_legacy(int add_dev_rc);

std::string_view ctrl_name(CtrlCmd cmd);    // "ADD_DEV", ... for error messages
std::string_view encoding_name(Encoding enc);  // "legacy" / "ioctl"
bool parse_encoding(std::string_view s, Encoding* out);

}  // namespace tandem::ublk
