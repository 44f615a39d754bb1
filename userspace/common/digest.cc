#include "common/digest.h"

#include <openssl/evp.h>

#include "common/byte_order.h"
#include "common/check.h"
#include "common/crc32c.h"

namespace tandem {

bool digest_alg_from_name(std::string_view name, DigestAlg* out) {
  if (name == "crc32c") *out = DigestAlg::Crc32c;
  else if (name == "md5") *out = DigestAlg::Md5;
  else if (name == "sha1") *out = DigestAlg::Sha1;
  else if (name == "sha256") *out = DigestAlg::Sha256;
  else return false;
  return true;
}

bool digest_alg_from_id(uint8_t id, DigestAlg* out) {
  if (id < 1 || id > 4) return false;
  *out = static_cast<DigestAlg>(id);
  return true;
}

std::string_view digest_alg_name(DigestAlg alg) {
  switch (alg) {
    case DigestAlg::None: return "none";
    case DigestAlg::Crc32c: return "crc32c";
    case DigestAlg::Md5: return "md5";
    case DigestAlg::Sha1: return "sha1";
    case DigestAlg::Sha256: return "sha256";
  }
  return "?";
}

std::string_view supported_digest_names() { return "crc32c, md5, sha1, sha256"; }

size_t digest_size(DigestAlg alg) {
  switch (alg) {
    case DigestAlg::None: return 0;
    case DigestAlg::Crc32c: return 4;
    case DigestAlg::Md5: return 16;
    case DigestAlg::Sha1: return 20;
    case DigestAlg::Sha256: return 32;
  }
  return 0;
}

void compute_digest(DigestAlg alg, const uint8_t* data, size_t length, uint8_t* out) {
  if (alg == DigestAlg::Crc32c) {
    put_le32(out, crc32c(data, length));
    return;
  }
  const EVP_MD* md = alg == DigestAlg::Md5 ? EVP_md5() : alg == DigestAlg::Sha1 ? EVP_sha1() : EVP_sha256();
  TANDEM_CHECK(alg != DigestAlg::None && md != nullptr);
  unsigned int n = 0;
  TANDEM_CHECK(EVP_Digest(data, length, out, &n, md, nullptr) == 1 && n == digest_size(alg));
}

}  // namespace tandem
