// Every constant of the tandem peer-to-peer wire protocol, in one place. Byte table: docs/wire-protocol.md.
//
// A frame is a 24-byte header followed by `payload_length` bytes of payload. All integers are little endian.
// The header carries its own CRC-32C and one over the payload, so a damaged or foreign frame is detected and
// the connection dropped before anything from it is acted upon or written.
#pragma once

#include <cstdint>

namespace tandem::wire {

inline constexpr uint32_t kMagic = 0x57444E54;  // "TNDW" in little-endian byte order.
// 3: bitmap exchange at connect (BitmapChunk, BitmapDone) and verify digests by algorithm (verify-alg,
// csums-alg); version 2 had only one of them, version 1 neither.
inline constexpr uint16_t kVersion = 3;

inline constexpr uint32_t kHeaderSize = 24;
inline constexpr uint32_t kHeaderMagicOffset = 0;          // u32
inline constexpr uint32_t kHeaderVersionOffset = 4;        // u16
inline constexpr uint32_t kHeaderTypeOffset = 6;           // u16
inline constexpr uint32_t kHeaderPayloadLengthOffset = 8;  // u32
inline constexpr uint32_t kHeaderPayloadCrcOffset = 12;    // u32, CRC-32C of the payload
inline constexpr uint32_t kHeaderFlagsOffset = 16;         // u32, kFrame* bits
inline constexpr uint32_t kHeaderCrcOffset = 20;           // u32, CRC-32C of header bytes [0, 20)

// The largest data block one message carries; application requests larger than this are split by the core.
inline constexpr uint32_t kMaxDataBytes = 1u << 20;
// Fixed fields of the largest message plus the largest data block.
inline constexpr uint32_t kMaxPayloadBytes = kMaxDataBytes + 256;

inline constexpr uint32_t kNonceBytes = 32;
inline constexpr uint32_t kMaxMacBytes = 64;
inline constexpr uint32_t kHistoryUuids = 4;

enum class MsgType : uint16_t {
  Hello = 1,         // node ids and an authentication challenge
  Auth = 2,          // HMAC over the peer's challenge
  State = 3,         // role, disk state, generation identifiers; sent at connect and on every change
  Data = 4,          // an application write (or trim / write-zeroes) to mirror
  RecvAck = 5,       // protocol B: the peer has received a Data message
  WriteAck = 6,      // the peer has written a Data message to its disk
  Flush = 7,         // make everything received before this durable
  FlushAck = 8,
  ResyncData = 9,    // a block range copied by resync
  ResyncAck = 10,
  SyncStart = 11,    // the sync source announces a resync and its size
  SyncDone = 12,     // the sync source finished; carries the UUID the target adopts
  Ping = 13,
  PingAck = 14,
  PromoteRequest = 15,  // asks the peer's consent before becoming Primary while connected
  PromoteReply = 16,
  Invalidate = 17,   // invalidate-remote: the receiver discards its data and becomes SyncTarget
  NewUuid = 18,      // new-current-uuid --clear-bitmap: both adopt this UUID as UpToDate without a sync
  VerifyRequest = 19,  // online verify: send the digests of this range
  VerifyReply = 20,    // the digests (by the requested algorithm, per 4 KiB block) of a range
  VerifyDone = 21,     // the verify pass ended (the receiver leaves VerifyT)
  BitmapChunk = 22,    // part of the sender's out-of-sync bitmap, sent after the handshake State
  BitmapDone = 23,     // the sender's whole bitmap has been sent
};
inline constexpr uint16_t kMaxMsgType = 23;
// Bitmap words (64 blocks each) per BitmapChunk; only chunks with set bits are sent.
inline constexpr uint32_t kBitmapChunkWords = 56;
// A verify request covers at most this many 4 KiB blocks (one digest each in the reply).
inline constexpr uint32_t kVerifyMaxBlocks = 64;

// Fixed payload sizes (bytes before any data block).
inline constexpr uint32_t kHelloSize = 4 + 4 + kNonceBytes + 4;        // node_id, expected_peer, nonce, flags
inline constexpr uint32_t kAuthSize = 4 + kMaxMacBytes;                // mac_length, mac (zero padded)
inline constexpr uint32_t kStateSize = 8 + 8 + 8 + 8 + 8 * kHistoryUuids + 8;  // see codec
inline constexpr uint32_t kDataFixedSize = 8 + 8 + 4 + 4;              // seq, offset, length, flags
inline constexpr uint32_t kSeqResultSize = 8 + 4 + 4;                  // seq, result, reserved
inline constexpr uint32_t kResyncFixedSize = 8 + 4 + 4;                // offset, length, result_or_flags
inline constexpr uint32_t kSyncStartSize = 8 + 8;                      // kind, total_bytes
inline constexpr uint32_t kSyncDoneSize = 8;                           // uuid
inline constexpr uint32_t kPromoteReplySize = 8;                       // granted (u32), reserved
// Digests are up to 32 bytes (sha256) each, in a fixed-size slot per block.
inline constexpr uint32_t kVerifyDigestSlot = 32;
inline constexpr uint32_t kVerifyRequestSize = 8 + 4 + 1 + 1 + 2;  // offset, length, alg, flags, reserved
// offset, length, result, alg, flags, reserved, digests
inline constexpr uint32_t kVerifyReplySize = 8 + 4 + 4 + 1 + 1 + 2 + kVerifyDigestSlot * kVerifyMaxBlocks;
// VerifyRequest/Reply flags: the request belongs to a checksum-based resync (csums-alg), not to a verify.
inline constexpr uint8_t kVerifyForResync = 1u << 0;
inline constexpr uint32_t kBitmapChunkSize = 8 + 4 + 4 + 8 * kBitmapChunkWords;  // first_word, count, 0, words
inline constexpr uint32_t kBitmapDoneSize = 8 + 8;                               // total_words, set_bits

// Frame header flags.
// The data block of this frame is not covered by payload_crc (only the fixed fields are). Data integrity
// checking of replicated blocks is optional, as DRBD's data-integrity-alg: TCP already checksums every
// segment, and a second pass over every byte costs as much as a copy. Headers and fixed fields are always
// checksummed.
inline constexpr uint32_t kFrameDataUnchecked = 1u << 0;
inline constexpr uint32_t kFrameKnownFlags = kFrameDataUnchecked;

// Data flags.
inline constexpr uint32_t kDataFua = 1u << 0;          // write through to stable storage before acking
inline constexpr uint32_t kDataTrim = 1u << 1;         // discard, no data block follows
inline constexpr uint32_t kDataZeroes = 1u << 2;       // write zeroes, no data block follows
inline constexpr uint32_t kDataWantRecvAck = 1u << 3;  // protocol B: send RecvAck on receipt
inline constexpr uint32_t kDataKnownFlags = 0xF;

// Hello flags.
inline constexpr uint32_t kHelloHasSecret = 1u << 0;

// State flags.
inline constexpr uint8_t kStateCrashedPrimary = 1u << 0;
inline constexpr uint8_t kStateIsHandshake = 1u << 1;  // first State of a connection: run the sync decision
inline constexpr uint8_t kStatePromotePending = 1u << 2;
inline constexpr uint8_t kStateNeedsFullSync = 1u << 3;  // stopped uncleanly as Secondary
inline constexpr uint8_t kStateDiscardMyData = 1u << 4;  // connect --discard-my-data: loses a split brain
inline constexpr uint8_t kStateResyncPaused = 1u << 5;   // the sync source holds the resync (pause-sync)
inline constexpr uint8_t kStatePrimaryAtSplit = 1u << 6;  // the current generation began as a Primary lost its peer

}  // namespace tandem::wire
