// NBD wire encoding and request validation: the only place where NBD bytes are converted to and from the
// host-order structs of nbd_protocol.h.
//
// Pure: no sockets, no threads, no clocks. Encoders write into caller-provided buffers of the fixed sizes
// named in nbd_protocol.h (k...Bytes); decoders return false for a wrong magic or malformed payload and never
// read past the length they are given. Both the server (nbd_handshake.cc, nbd_connection.cc) and the tests'
// hand-written client use these functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/block_target.h"
#include "frontend/nbd_export/nbd_protocol.h"

namespace tandem::nbd {

// ---- Handshake ----
void encode_greeting(uint8_t* out, uint16_t handshake_flags);                 // kGreetingBytes
bool decode_greeting(const uint8_t* in, uint16_t* handshake_flags);           // false: bad magic
void encode_client_flags(uint8_t* out, uint32_t client_flags);                // kClientFlagsBytes
uint32_t decode_client_flags(const uint8_t* in);

void encode_option_header(uint8_t* out, const OptionHeader& h);               // kOptionHeaderBytes
bool decode_option_header(const uint8_t* in, OptionHeader* h);                // false: not IHAVEOPT
void encode_option_reply_header(uint8_t* out, const OptionReplyHeader& h);    // kOptionReplyHeaderBytes
bool decode_option_reply_header(const uint8_t* in, OptionReplyHeader* h);     // false: bad magic

// Reply to NBD_OPT_EXPORT_NAME. `out` must hold kExportNameReplyBytes + kExportNameZeroPadBytes.
// Returns the number of bytes to send (the zero pad is left out when the client set NO_ZEROES).
size_t encode_export_name_reply(uint8_t* out, uint64_t size_bytes, uint16_t transmission_flags,
                                bool no_zeroes);

// NBD_REP_INFO payloads.
void encode_info_export(uint8_t* out, uint64_t size_bytes, uint16_t transmission_flags);  // kInfoExportBytes
void encode_info_block_size(uint8_t* out, const BlockSizes& sizes);                         // kInfoBlockSizeBytes
// NBD_INFO_NAME / NBD_INFO_DESCRIPTION: u16 type then the string (no length field: the reply length says it).
void encode_info_string(std::vector<uint8_t>* out, uint16_t info_type, std::string_view text);
// NBD_REP_SERVER payload for NBD_OPT_LIST: u32 name length, name.
void encode_server_entry(std::vector<uint8_t>* out, std::string_view export_name);

// Payload of NBD_OPT_INFO / NBD_OPT_GO: u32 name length, name, u16 count, count x u16 info type.
struct InfoRequest {
  std::string export_name;
  std::vector<uint16_t> info_types;
};
void encode_info_request(std::vector<uint8_t>* out, const InfoRequest& r);
// False when the payload is inconsistent (lengths disagree, name too long); `error` says what is wrong.
bool decode_info_request(const uint8_t* in, size_t length_bytes, InfoRequest* r, std::string* error);

// ---- Transmission ----
void encode_request(uint8_t* out, const Request& r);      // kRequestBytes
bool decode_request(const uint8_t* in, Request* r);       // false: bad magic
void encode_simple_reply(uint8_t* out, const SimpleReply& r);  // kSimpleReplyBytes
bool decode_simple_reply(const uint8_t* in, SimpleReply* r);   // false: bad magic

// Maps a target completion result (0 or negative errno) to an NBD error value.
uint32_t error_from_errno(int result);

// What the server does with a decoded request, decided before touching the target.
struct RequestVerdict {
  enum class Action {
    Submit,      // Hand `op` to the target.
    ReplyOk,     // Zero-length data command: nothing to do, reply success.
    ReplyError,  // Reply `error` without touching the target (a WRITE's payload must still be consumed).
    Disconnect,  // Protocol violation that leaves the stream unusable (payload too big to consume): close.
    Disc,        // NBD_CMD_DISC: finish in-flight requests, then close without a reply.
  };
  Action action = Action::Submit;
  IoOp op = IoOp::Read;
  uint32_t error = kErrNone;
  const char* reason = "";  // For the log line when action is ReplyError or Disconnect.
};

// `max_payload_bytes` bounds READ and WRITE lengths (the advertised maximum block size).
// `read_only` is what was advertised at handshake time.
RequestVerdict check_request(const Request& r, uint64_t export_size_bytes, uint32_t max_payload_bytes,
                             bool read_only);

// True when the request carries `length_bytes` of payload after its header (only NBD_CMD_WRITE).
inline bool request_has_payload(const Request& r) { return r.type == kCmdWrite; }

}  // namespace tandem::nbd
