// Peer authentication: each node proves knowledge of the shared secret by returning HMAC(secret, challenge ||
// node id) over the other node's random challenge (DRBD's cram-hmac-alg scheme). The secret never crosses
// the wire and a recorded answer is useless for another challenge.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "wire/protocol.h"

namespace tandem {

// Returns false with a message when the algorithm is unknown to OpenSSL.
bool compute_auth_mac(const std::string& alg, const std::string& secret,
                      const std::array<uint8_t, wire::kNonceBytes>& challenge, uint32_t prover_node_id,
                      std::vector<uint8_t>* mac, std::string* error);
// Constant-time comparison.
bool macs_equal(const uint8_t* a, const uint8_t* b, size_t len);
// Cryptographically random bytes for challenges and generation identifiers.
void random_bytes(uint8_t* out, size_t len);

}  // namespace tandem
