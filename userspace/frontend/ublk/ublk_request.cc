#include "frontend/ublk/ublk_request.h"

#include <cerrno>

namespace tandem::ublk {

Translation translate(const ublksrv_io_desc& desc, uint32_t buffer_bytes, uint64_t device_bytes) {
  Translation t;
  uint32_t op = desc.op_flags & 0xff;
  bool fua = (desc.op_flags & UBLK_IO_F_FUA) != 0;
  switch (op) {
    case UBLK_IO_OP_READ: t.op = IoOp::Read; break;
    case UBLK_IO_OP_WRITE: t.op = IoOp::Write; t.fua = fua; break;
    case UBLK_IO_OP_FLUSH: t.op = IoOp::Flush; return t;  // No range: covers everything completed before it.
    case UBLK_IO_OP_DISCARD: t.op = IoOp::Trim; break;
    case UBLK_IO_OP_WRITE_ZEROES: t.op = IoOp::WriteZeroes; t.fua = fua; break;
    default: t.error = -EOPNOTSUPP; return t;
  }
  uint64_t bytes = uint64_t{desc.nr_sectors} << 9;
  uint64_t offset = desc.start_sector << 9;
  if (desc.start_sector > (UINT64_MAX >> 9) || bytes > UINT32_MAX) {
    t.error = -EINVAL;
    return t;
  }
  if ((t.op == IoOp::Read || t.op == IoOp::Write) && bytes > buffer_bytes) {
    t.error = -EIO;  // The kernel promised max_sectors <= the buffer; this would overrun it.
    return t;
  }
  if (offset > device_bytes || bytes > device_bytes - offset) {
    t.error = -EINVAL;
    return t;
  }
  t.offset = offset;
  t.length = static_cast<uint32_t>(bytes);
  return t;
}

int32_t commit_result(IoOp op, uint32_t length, int target_result) {
  if (target_result < 0) return target_result;
  if (op == IoOp::Read || op == IoOp::Write) return static_cast<int32_t>(length);
  return 0;
}

}  // namespace tandem::ublk
