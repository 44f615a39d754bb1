// The one place where wire messages are converted to and from bytes (see docs/wire-protocol.md).
// Decoding never trusts its input: every length, enum value and checksum is checked and a failure yields a
// message that names the problem, so the connection can be dropped with a useful log line.
#pragma once

#include <cstdint>
#include <string>

#include "wire/message.h"

namespace tandem::wire {

// The largest fixed part is VerifyReply's (digest slots for kVerifyMaxBlocks blocks).
inline constexpr uint32_t kMaxEncodedFixedBytes = kHeaderSize + 2560;
static_assert(kVerifyReplySize <= kMaxEncodedFixedBytes - kHeaderSize);
static_assert(kHelloSize <= kMaxEncodedFixedBytes - kHeaderSize && kStateSize <= kMaxEncodedFixedBytes - kHeaderSize &&
              kAuthSize <= kMaxEncodedFixedBytes - kHeaderSize);

// Writes header + fixed fields of `m` into `out` (at least kMaxEncodedFixedBytes) and returns their length.
// The data block (`m.data.data` / `m.resync.data`, if any) is NOT copied; the caller sends it right after.
// The payload CRC covers the fixed fields and, if `checksum_data`, the data block (else the frame is flagged
// kFrameDataUnchecked).
uint32_t encode(const Message& m, uint8_t* out, bool checksum_data = true);

// Length of the data block that follows the fixed fields of `m` (0 for messages without data).
uint32_t data_block_length(const Message& m);

struct FrameHeader {
  MsgType type = MsgType::Ping;
  uint32_t flags = 0;
  uint32_t payload_length = 0;
  uint32_t payload_crc = 0;
};

// Checks magic, version, header checksum, type and length bounds.
bool decode_header(const uint8_t* in, FrameHeader* out, std::string* error);

// Checks the payload checksum and decodes the message; `m->data.data` / `m->resync.data` point into `payload`.
bool decode_payload(const FrameHeader& h, const uint8_t* payload, Message* m, std::string* error);
// The same for a payload received in two pieces: the fixed fields (fixed_payload_size(h.type) bytes) and the
// data block (the rest), so a receiver can read data blocks straight into buffers it hands on.
bool decode_payload_parts(const FrameHeader& h, const uint8_t* fixed, const uint8_t* data_block, Message* m,
                          std::string* error);
// Bytes of fixed fields of a message type (its payload without a data block).
uint32_t fixed_payload_size(MsgType t);

std::string_view type_name(MsgType t);

}  // namespace tandem::wire
