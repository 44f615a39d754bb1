#include "daemon/peer_auth.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/byte_order.h"
#include "common/check.h"

namespace tandem {

bool compute_auth_mac(const std::string& alg, const std::string& secret,
                      const std::array<uint8_t, wire::kNonceBytes>& challenge, uint32_t prover_node_id,
                      std::vector<uint8_t>* mac, std::string* error) {
  const EVP_MD* md = EVP_get_digestbyname(alg.c_str());
  if (!md) {
    *error = fmt::format("cram-hmac-alg '{}' is not a digest this system's OpenSSL knows", alg);
    return false;
  }
  uint8_t msg[wire::kNonceBytes + 4];
  std::copy(challenge.begin(), challenge.end(), msg);
  put_le32(msg + wire::kNonceBytes, prover_node_id);
  unsigned len = 0;
  mac->resize(EVP_MAX_MD_SIZE);
  if (!HMAC(md, secret.data(), static_cast<int>(secret.size()), msg, sizeof msg, mac->data(), &len)) {
    *error = fmt::format("HMAC with {} failed", alg);
    return false;
  }
  mac->resize(std::min<unsigned>(len, wire::kMaxMacBytes));
  return true;
}

bool macs_equal(const uint8_t* a, const uint8_t* b, size_t len) { return CRYPTO_memcmp(a, b, len) == 0; }

void random_bytes(uint8_t* out, size_t len) {
  TANDEM_CHECK_MSG(RAND_bytes(out, static_cast<int>(len)) == 1, "OpenSSL RAND_bytes failed");
}

}  // namespace tandem
