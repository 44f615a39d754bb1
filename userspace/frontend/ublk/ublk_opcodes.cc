#include "frontend/ublk/ublk_opcodes.h"

#include <cerrno>

namespace tandem::ublk {

uint32_t ctrl_opcode(CtrlCmd cmd, Encoding enc) {
  auto nr = static_cast<uint32_t>(cmd);
  return enc == Encoding::Legacy ? nr : static_cast<uint32_t>(_IOWR('u', nr, struct ublksrv_ctrl_cmd));
}

uint32_t io_opcode(IoCmd cmd, Encoding enc) {
  auto nr = static_cast<uint32_t>(cmd);
  return enc == Encoding::Legacy ? nr : static_cast<uint32_t>(_IOWR('u', nr, struct ublksrv_io_cmd));
}

Encoding encoding_for(uint64_t returned_flags, Encoding add_dev_sent_with) {
  // A kernel that understood an ioctl-encoded ADD_DEV knows the flag and keeps it; one that cleared it (a
  // kernel that masks unknown flags after accepting the command some other way) gets legacy numbers.
  return add_dev_sent_with == Encoding::Ioctl && (returned_flags & kFlagCmdIoctlEncode) != 0 ? Encoding::Ioctl
                                                                                            : Encoding::Legacy;
}

bool add_dev_fallback_to_legacy(int rc) {
  constexpr int kEnotsupp = 524;  // the kernel-internal ENOTSUPP some drivers leak to userspace
  return rc == -ENODEV || rc == -EOPNOTSUPP || rc == -kEnotsupp;
}

std::string_view ctrl_name(CtrlCmd cmd) {
  switch (cmd) {
    case CtrlCmd::GetQueueAffinity: return "GET_QUEUE_AFFINITY";
    case CtrlCmd::GetDevInfo: return "GET_DEV_INFO";
    case CtrlCmd::AddDev: return "ADD_DEV";
    case CtrlCmd::DelDev: return "DEL_DEV";
    case CtrlCmd::StartDev: return "START_DEV";
    case CtrlCmd::StopDev: return "STOP_DEV";
    case CtrlCmd::SetParams: return "SET_PARAMS";
    case CtrlCmd::GetParams: return "GET_PARAMS";
    case CtrlCmd::StartUserRecovery: return "START_USER_RECOVERY";
    case CtrlCmd::EndUserRecovery: return "END_USER_RECOVERY";
  }
  return "?";
}

std::string_view encoding_name(Encoding enc) { return enc == Encoding::Ioctl ? "ioctl" : "legacy"; }

bool parse_encoding(std::string_view s, Encoding* out) {
  if (s == "ioctl") {
    *out = Encoding::Ioctl;
  } else if (s == "legacy") {
    *out = Encoding::Legacy;
  } else {
    return false;
  }
  return true;
}

}  // namespace tandem::ublk
