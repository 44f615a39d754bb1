// Opcode encodings against the values the kernel headers of 6.4+ define (written out here, since the 6.1
// header on the build machine has no ioctl-encoded names), and the encoding choice after ADD_DEV.
#include "frontend/ublk/ublk_opcodes.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace tandem::ublk {
namespace {

TEST(UblkOpcodes, LegacyNumbersAreTheCommandNumbers) {
  EXPECT_EQ(ctrl_opcode(CtrlCmd::AddDev, Encoding::Legacy), 0x04u);
  EXPECT_EQ(ctrl_opcode(CtrlCmd::StartUserRecovery, Encoding::Legacy), 0x10u);
  EXPECT_EQ(ctrl_opcode(CtrlCmd::EndUserRecovery, Encoding::Legacy), 0x11u);
  EXPECT_EQ(io_opcode(IoCmd::FetchReq, Encoding::Legacy), 0x20u);
  EXPECT_EQ(io_opcode(IoCmd::CommitAndFetchReq, Encoding::Legacy), 0x21u);
}

TEST(UblkOpcodes, IoctlEncodedMatchLinux64) {
  // UBLK_U_CMD_* = _IOWR('u', nr, struct ublksrv_ctrl_cmd), UBLK_U_IO_* = _IOWR('u', nr, struct ublksrv_io_cmd).
  EXPECT_EQ(ctrl_opcode(CtrlCmd::GetQueueAffinity, Encoding::Ioctl), 0xC0207501u);
  EXPECT_EQ(ctrl_opcode(CtrlCmd::GetDevInfo, Encoding::Ioctl), 0xC0207502u);
  EXPECT_EQ(ctrl_opcode(CtrlCmd::AddDev, Encoding::Ioctl), 0xC0207504u);
  EXPECT_EQ(ctrl_opcode(CtrlCmd::DelDev, Encoding::Ioctl), 0xC0207505u);
  EXPECT_EQ(ctrl_opcode(CtrlCmd::StartDev, Encoding::Ioctl), 0xC0207506u);
  EXPECT_EQ(ctrl_opcode(CtrlCmd::StopDev, Encoding::Ioctl), 0xC0207507u);
  EXPECT_EQ(ctrl_opcode(CtrlCmd::SetParams, Encoding::Ioctl), 0xC0207508u);
  EXPECT_EQ(ctrl_opcode(CtrlCmd::GetParams, Encoding::Ioctl), 0xC0207509u);
  EXPECT_EQ(ctrl_opcode(CtrlCmd::StartUserRecovery, Encoding::Ioctl), 0xC0207510u);
  EXPECT_EQ(ctrl_opcode(CtrlCmd::EndUserRecovery, Encoding::Ioctl), 0xC0207511u);
  EXPECT_EQ(io_opcode(IoCmd::FetchReq, Encoding::Ioctl), 0xC0107520u);
  EXPECT_EQ(io_opcode(IoCmd::CommitAndFetchReq, Encoding::Ioctl), 0xC0107521u);
}

TEST(UblkOpcodes, EncodingFollowsWhatAddDevReturned) {
  // Sent ioctl-encoded and the kernel kept the flag: ioctl for everything after.
  EXPECT_EQ(encoding_for(kFlagCmdIoctlEncode | kFlagUserRecovery, Encoding::Ioctl), Encoding::Ioctl);
  // Accepted, but the flag was masked away: legacy.
  EXPECT_EQ(encoding_for(kFlagUserRecovery, Encoding::Ioctl), Encoding::Legacy);
  // The legacy retry (6.1) never switches to ioctl, whatever flags come back.
  EXPECT_EQ(encoding_for(kFlagCmdIoctlEncode, Encoding::Legacy), Encoding::Legacy);
}

TEST(UblkOpcodes, FallbackToLegacyOnlyWhenTheOpcodeIsUnknown) {
  EXPECT_TRUE(add_dev_fallback_to_legacy(-ENODEV));      // what the 6.1 test kernel answers
  EXPECT_TRUE(add_dev_fallback_to_legacy(-EOPNOTSUPP));
  EXPECT_TRUE(add_dev_fallback_to_legacy(-524));         // ENOTSUPP
  EXPECT_FALSE(add_dev_fallback_to_legacy(-EPERM));      // not root: legacy would fail the same way
  EXPECT_FALSE(add_dev_fallback_to_legacy(-EINVAL));     // the request itself is wrong
  EXPECT_FALSE(add_dev_fallback_to_legacy(-ETIMEDOUT));
  EXPECT_FALSE(add_dev_fallback_to_legacy(0));
}

TEST(UblkOpcodes, EncodingNamesRoundTrip) {
  for (Encoding e : {Encoding::Legacy, Encoding::Ioctl}) {
    Encoding back{};
    ASSERT_TRUE(parse_encoding(encoding_name(e), &back));
    EXPECT_EQ(back, e);
  }
  Encoding x{};
  EXPECT_FALSE(parse_encoding("Legacy", &x));
  EXPECT_FALSE(parse_encoding("", &x));
  EXPECT_EQ(ctrl_name(CtrlCmd::AddDev), "ADD_DEV");
  EXPECT_EQ(ctrl_name(CtrlCmd::EndUserRecovery), "END_USER_RECOVERY");
}

}  // namespace
}  // namespace tandem::ublk
