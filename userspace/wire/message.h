// In-memory form of a wire message. Only wire/codec.cc converts between this and bytes.
// `data` points into the receive buffer (decode) or the caller's buffer (encode) and is never owned here.
#pragma once

#include <array>
#include <cstdint>

#include "core/states.h"
#include "wire/protocol.h"

namespace tandem::wire {

struct Hello {
  uint32_t node_id = 0;
  uint32_t expected_peer_node_id = 0;
  std::array<uint8_t, kNonceBytes> nonce{};
  uint32_t flags = 0;
};

struct Auth {
  uint32_t mac_length = 0;
  std::array<uint8_t, kMaxMacBytes> mac{};
};

struct StateMsg {
  Role role = Role::Secondary;
  DiskState disk = DiskState::Inconsistent;
  char protocol = 'C';
  uint8_t flags = 0;
  uint64_t data_size_bytes = 0;
  uint64_t current_uuid = 0;
  uint64_t bitmap_uuid = 0;
  std::array<uint64_t, kHistoryUuids> history{};
  uint64_t dirty_bytes = 0;  // out-of-sync bytes this node knows about (for status)
};

struct DataMsg {
  uint64_t seq = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
  uint32_t flags = 0;
  const uint8_t* data = nullptr;  // `length` bytes unless kDataTrim/kDataZeroes
};

struct SeqResult {  // RecvAck, WriteAck, Flush, FlushAck
  uint64_t seq = 0;
  int32_t result = 0;  // 0 or a negative errno
};

struct ResyncMsg {  // ResyncData (data follows) and ResyncAck (result)
  uint64_t offset = 0;
  uint32_t length = 0;
  int32_t result = 0;
  const uint8_t* data = nullptr;
};

struct SyncStart {
  uint64_t full = 0;  // 1 = full sync, 0 = bitmap-based
  uint64_t total_bytes = 0;
};

struct VerifyMsg {  // VerifyRequest and VerifyReply
  uint64_t offset = 0;
  uint32_t length = 0;  // a multiple of 4096, at most kVerifyMaxBlocks blocks
  int32_t result = 0;   // reply: 0 or the peer's read error
  uint8_t alg = 1;      // DigestAlg (common/digest.h); the reply uses the request's
  uint8_t flags = 0;    // kVerifyForResync
  // Reply only: block i's digest in bytes [i * kVerifyDigestSlot, + digest size), the rest zero.
  std::array<uint8_t, kVerifyDigestSlot * kVerifyMaxBlocks> digests{};
};

struct BitmapChunk {
  uint64_t first_word = 0;  // index of words[0] in the sender's bitmap
  uint32_t count = 0;       // 1..kBitmapChunkWords words used
  std::array<uint64_t, kBitmapChunkWords> words{};
};

struct BitmapDone {
  uint64_t total_words = 0;  // size of the sender's bitmap (must equal the receiver's)
  uint64_t set_bits = 0;     // blocks the sender had marked (for logs)
};

struct Message {
  MsgType type = MsgType::Ping;
  Hello hello;
  Auth auth;
  StateMsg state;
  DataMsg data;
  SeqResult seq_result;
  ResyncMsg resync;
  SyncStart sync_start;
  uint64_t uuid = 0;      // SyncDone
  uint32_t granted = 0;   // PromoteReply
  VerifyMsg verify;
  BitmapChunk bitmap_chunk;
  BitmapDone bitmap_done;

  // Set by a receiver that read the data block into a pooled buffer (core/buffer_pool.h, kMaxDataBytes
  // each): the consumer may adopt the buffer instead of copying the block by setting this to nullptr; the
  // receiver returns whatever is left here to the pool after delivery. Never part of the wire format.
  mutable uint8_t* adoptable_buffer = nullptr;
};

}  // namespace tandem::wire
