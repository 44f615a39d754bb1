// Per-4 KiB-block digests of a chunk, laid out as in VerifyReply (one kVerifyDigestSlot per block): used by
// online verify (verify-alg) and checksum-based resync (csums-alg).
#pragma once

#include <cstring>

#include "common/digest.h"
#include "core/dirty_bitmap.h"
#include "wire/protocol.h"

namespace tandem {

inline void digest_blocks(DigestAlg alg, const uint8_t* buf, uint32_t length, uint8_t* out) {
  for (uint32_t i = 0; i < length / DirtyBitmap::kBlockBytes; i++)
    compute_digest(alg, buf + size_t(i) * DirtyBitmap::kBlockBytes, DirtyBitmap::kBlockBytes,
                   out + size_t(i) * wire::kVerifyDigestSlot);
}

inline bool same_digest(DigestAlg alg, const uint8_t* a, const uint8_t* b, uint32_t block) {
  size_t at = size_t(block) * wire::kVerifyDigestSlot;
  return std::memcmp(a + at, b + at, digest_size(alg)) == 0;
}

}  // namespace tandem
