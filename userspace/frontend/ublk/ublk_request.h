// One ublk request descriptor (ublksrv_io_desc, written by the kernel into the shared descriptor array) as an
// IoRequest for the BlockTarget, and the target's answer as the result COMMIT_AND_FETCH_REQ carries back.
// Pure.
//
// Mapping (docs/kernel-frontends.md): READ -> Read, WRITE -> Write (UBLK_IO_F_FUA -> fua), FLUSH -> Flush,
// DISCARD -> Trim, WRITE_ZEROES -> WriteZeroes (fua honoured too). Anything else (WRITE_SAME, zoned ops) is
// refused with -EOPNOTSUPP without reaching the target.
#pragma once

#include <cstdint>

#include "frontend/block_target.h"
#include "frontend/ublk/ublk_abi.h"

namespace tandem::ublk {

struct Translation {
  int error = 0;  // 0: submit `req`; else a negative errno to commit at once.
  IoOp op = IoOp::Read;
  bool fua = false;
  uint64_t offset = 0;
  uint32_t length = 0;
};

// `buffer_bytes`: the tag's buffer; READ/WRITE larger than it are refused (-EIO), as is a range beyond
// `device_bytes` (-EINVAL).
Translation translate(const ublksrv_io_desc& desc, uint32_t buffer_bytes, uint64_t device_bytes);

// The result field of COMMIT_AND_FETCH_REQ: READ/WRITE report the bytes done (a short count would make the
// kernel requeue the rest, so success is all of it); other operations 0; failures the negative errno.
int32_t commit_result(IoOp op, uint32_t length, int target_result);

}  // namespace tandem::ublk
