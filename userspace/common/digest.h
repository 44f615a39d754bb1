// Block digests for online verify (verify-alg) and checksum-based resync (csums-alg). The names are the
// kernel shash names DRBD users write in their configuration; the numeric ids travel on the wire.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tandem {

enum class DigestAlg : uint8_t { None = 0, Crc32c = 1, Md5 = 2, Sha1 = 3, Sha256 = 4 };
inline constexpr size_t kMaxDigestBytes = 32;

// False for a name tandem does not support.
bool digest_alg_from_name(std::string_view name, DigestAlg* out);
// False for an id that is not a known algorithm (wire input).
bool digest_alg_from_id(uint8_t id, DigestAlg* out);
std::string_view digest_alg_name(DigestAlg alg);
// The names digest_alg_from_name accepts, for error messages.
std::string_view supported_digest_names();
size_t digest_size(DigestAlg alg);
// Writes digest_size(alg) bytes to out (alg must not be None).
void compute_digest(DigestAlg alg, const uint8_t* data, size_t length, uint8_t* out);

}  // namespace tandem
