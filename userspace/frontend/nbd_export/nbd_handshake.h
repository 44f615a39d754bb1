// Server side of the NBD fixed-newstyle negotiation, run on a freshly accepted socket.
//
// Supports NBD_OPT_EXPORT_NAME, NBD_OPT_GO, NBD_OPT_INFO, NBD_OPT_LIST and NBD_OPT_ABORT; every other option
// (STARTTLS, STRUCTURED_REPLY, metadata contexts, ...) is answered NBD_REP_ERR_UNSUP so that clients fall
// back to plain simple replies. Oldstyle and non-fixed newstyle clients are refused by closing.
// Bounded: at most `max_options` options and `max_option_bytes` per option payload; a client beyond either
// is told NBD_REP_ERR_TOO_BIG (for the length) and disconnected.
// Threading: runs on the connection's own thread; blocking reads use the socket's receive timeout.
#pragma once

#include <cstdint>
#include <string>

#include "frontend/nbd_export/nbd_protocol.h"

namespace tandem::nbd {

struct HandshakeConfig {
  std::string export_name;       // Clients may also ask for "" (the default export).
  std::string description;       // Sent as NBD_INFO_DESCRIPTION when asked for and non-empty.
  BlockSizes block_sizes;
  uint32_t max_options = 64;
  uint32_t max_option_bytes = 8192;  // A GO with a 4096-byte name and many info requests still fits.
};

// What the export looks like at the moment of negotiation.
struct ExportState {
  uint64_t size_bytes = 0;
  uint16_t transmission_flags = 0;
};

enum class HandshakeOutcome {
  Transmission,  // Client chose the export; the socket is now in the transmission phase.
  Closed,        // Client aborted, disconnected or misbehaved; the caller closes the socket.
};

// `client` names the peer in log lines.
HandshakeOutcome run_handshake(int fd, const HandshakeConfig& config, const ExportState& state,
                               const std::string& client);

// Transmission flags we advertise: everything we implement, plus READ_ONLY when the target refuses writes.
// CAN_MULTI_CONN is correct because the target's flush covers every write completed before it, from any
// connection.
uint16_t transmission_flags_for(bool writable);

}  // namespace tandem::nbd
