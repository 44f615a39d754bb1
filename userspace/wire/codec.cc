#include "wire/codec.h"

#include <fmt/format.h>

#include <cstring>

#include "common/byte_order.h"
#include "common/check.h"
#include "common/crc32c.h"
#include "common/digest.h"

namespace tandem::wire {
namespace {

uint32_t fixed_size(MsgType t) {
  switch (t) {
    case MsgType::Hello: return kHelloSize;
    case MsgType::Auth: return kAuthSize;
    case MsgType::State: return kStateSize;
    case MsgType::Data: return kDataFixedSize;
    case MsgType::RecvAck:
    case MsgType::WriteAck:
    case MsgType::Flush:
    case MsgType::FlushAck: return kSeqResultSize;
    case MsgType::ResyncData:
    case MsgType::ResyncAck: return kResyncFixedSize;
    case MsgType::SyncStart: return kSyncStartSize;
    case MsgType::SyncDone:
    case MsgType::NewUuid: return kSyncDoneSize;
    case MsgType::Invalidate:
    case MsgType::VerifyDone: return 0;
    case MsgType::VerifyRequest: return kVerifyRequestSize;
    case MsgType::VerifyReply: return kVerifyReplySize;
    case MsgType::Ping:
    case MsgType::PingAck:
    case MsgType::PromoteRequest: return 0;
    case MsgType::PromoteReply: return kPromoteReplySize;
    case MsgType::BitmapChunk: return kBitmapChunkSize;
    case MsgType::BitmapDone: return kBitmapDoneSize;
  }
  return 0;
}

// A cursor that writes little-endian fields; bounds are guaranteed by fixed_size().
struct Writer {
  uint8_t* p;
  void u8(uint8_t v) { *p++ = v; }
  void u16(uint16_t v) { put_le16(p, v); p += 2; }
  void u32(uint32_t v) { put_le32(p, v); p += 4; }
  void u64(uint64_t v) { put_le64(p, v); p += 8; }
  void bytes(const uint8_t* b, size_t n) { std::memcpy(p, b, n); p += n; }
};
struct Reader {
  const uint8_t* p;
  uint8_t u8() { return *p++; }
  uint16_t u16() { uint16_t v = get_le16(p); p += 2; return v; }
  uint32_t u32() { uint32_t v = get_le32(p); p += 4; return v; }
  uint64_t u64() { uint64_t v = get_le64(p); p += 8; return v; }
  void bytes(uint8_t* b, size_t n) { std::memcpy(b, p, n); p += n; }
};

}  // namespace

std::string_view type_name(MsgType t) {
  switch (t) {
    case MsgType::Hello: return "Hello";
    case MsgType::Auth: return "Auth";
    case MsgType::State: return "State";
    case MsgType::Data: return "Data";
    case MsgType::RecvAck: return "RecvAck";
    case MsgType::WriteAck: return "WriteAck";
    case MsgType::Flush: return "Flush";
    case MsgType::FlushAck: return "FlushAck";
    case MsgType::ResyncData: return "ResyncData";
    case MsgType::ResyncAck: return "ResyncAck";
    case MsgType::SyncStart: return "SyncStart";
    case MsgType::SyncDone: return "SyncDone";
    case MsgType::Ping: return "Ping";
    case MsgType::PingAck: return "PingAck";
    case MsgType::PromoteRequest: return "PromoteRequest";
    case MsgType::PromoteReply: return "PromoteReply";
    case MsgType::Invalidate: return "Invalidate";
    case MsgType::NewUuid: return "NewUuid";
    case MsgType::VerifyRequest: return "VerifyRequest";
    case MsgType::VerifyReply: return "VerifyReply";
    case MsgType::VerifyDone: return "VerifyDone";
    case MsgType::BitmapChunk: return "BitmapChunk";
    case MsgType::BitmapDone: return "BitmapDone";
  }
  return "?";
}

uint32_t data_block_length(const Message& m) {
  if (m.type == MsgType::Data && !(m.data.flags & (kDataTrim | kDataZeroes))) return m.data.length;
  if (m.type == MsgType::ResyncData) return m.resync.length;
  return 0;
}

uint32_t encode(const Message& m, uint8_t* out, bool checksum_data) {
  const uint32_t fixed = fixed_size(m.type);
  const uint32_t data_len = data_block_length(m);
  TANDEM_CHECK(data_len <= kMaxDataBytes);
  uint8_t* body = out + kHeaderSize;
  Writer w{body};
  switch (m.type) {
    case MsgType::Hello:
      w.u32(m.hello.node_id);
      w.u32(m.hello.expected_peer_node_id);
      w.bytes(m.hello.nonce.data(), kNonceBytes);
      w.u32(m.hello.flags);
      break;
    case MsgType::Auth:
      TANDEM_CHECK(m.auth.mac_length <= kMaxMacBytes);
      w.u32(m.auth.mac_length);
      w.bytes(m.auth.mac.data(), kMaxMacBytes);
      break;
    case MsgType::State: {
      const StateMsg& s = m.state;
      w.u8(static_cast<uint8_t>(s.role));
      w.u8(static_cast<uint8_t>(s.disk));
      w.u8(static_cast<uint8_t>(s.protocol));
      w.u8(s.flags);
      w.u32(0);
      w.u64(s.data_size_bytes);
      w.u64(s.current_uuid);
      w.u64(s.bitmap_uuid);
      for (uint64_t h : s.history) w.u64(h);
      w.u64(s.dirty_bytes);
      break;
    }
    case MsgType::Data:
      w.u64(m.data.seq);
      w.u64(m.data.offset);
      w.u32(m.data.length);
      w.u32(m.data.flags);
      break;
    case MsgType::RecvAck:
    case MsgType::WriteAck:
    case MsgType::Flush:
    case MsgType::FlushAck:
      w.u64(m.seq_result.seq);
      w.u32(static_cast<uint32_t>(m.seq_result.result));
      w.u32(0);
      break;
    case MsgType::ResyncData:
    case MsgType::ResyncAck:
      w.u64(m.resync.offset);
      w.u32(m.resync.length);
      w.u32(static_cast<uint32_t>(m.resync.result));
      break;
    case MsgType::SyncStart:
      w.u64(m.sync_start.full);
      w.u64(m.sync_start.total_bytes);
      break;
    case MsgType::SyncDone:
    case MsgType::NewUuid: w.u64(m.uuid); break;
    case MsgType::Invalidate:
    case MsgType::VerifyDone: break;
    case MsgType::VerifyRequest:
      w.u64(m.verify.offset);
      w.u32(m.verify.length);
      w.u8(m.verify.alg);
      w.u8(m.verify.flags);
      w.u16(0);
      break;
    case MsgType::VerifyReply:
      w.u64(m.verify.offset);
      w.u32(m.verify.length);
      w.u32(static_cast<uint32_t>(m.verify.result));
      w.u8(m.verify.alg);
      w.u8(m.verify.flags);
      w.u16(0);
      w.bytes(m.verify.digests.data(), m.verify.digests.size());
      break;
    case MsgType::PromoteReply:
      w.u32(m.granted);
      w.u32(0);
      break;
    case MsgType::BitmapChunk:
      TANDEM_CHECK(m.bitmap_chunk.count >= 1 && m.bitmap_chunk.count <= kBitmapChunkWords);
      w.u64(m.bitmap_chunk.first_word);
      w.u32(m.bitmap_chunk.count);
      w.u32(0);
      for (uint32_t i = 0; i < kBitmapChunkWords; i++) w.u64(i < m.bitmap_chunk.count ? m.bitmap_chunk.words[i] : 0);
      break;
    case MsgType::BitmapDone:
      w.u64(m.bitmap_done.total_words);
      w.u64(m.bitmap_done.set_bits);
      break;
    case MsgType::Ping:
    case MsgType::PingAck:
    case MsgType::PromoteRequest: break;
  }
  TANDEM_CHECK(static_cast<uint32_t>(w.p - body) == fixed);

  uint32_t payload_crc = crc32c(body, fixed);
  const bool unchecked = data_len > 0 && !checksum_data;
  if (data_len > 0 && !unchecked) {
    const uint8_t* d = m.type == MsgType::Data ? m.data.data : m.resync.data;
    TANDEM_CHECK(d != nullptr);
    payload_crc = crc32c(d, data_len, payload_crc);
  }
  put_le32(out + kHeaderMagicOffset, kMagic);
  put_le16(out + kHeaderVersionOffset, kVersion);
  put_le16(out + kHeaderTypeOffset, static_cast<uint16_t>(m.type));
  put_le32(out + kHeaderPayloadLengthOffset, fixed + data_len);
  put_le32(out + kHeaderPayloadCrcOffset, payload_crc);
  put_le32(out + kHeaderFlagsOffset, unchecked ? kFrameDataUnchecked : 0);
  put_le32(out + kHeaderCrcOffset, crc32c(out, kHeaderCrcOffset));
  return kHeaderSize + fixed;
}

bool decode_header(const uint8_t* in, FrameHeader* out, std::string* error) {
  uint32_t magic = get_le32(in + kHeaderMagicOffset);
  if (magic != kMagic) {
    *error = fmt::format("bad frame magic 0x{:08x} (expected 0x{:08x}): not a tandem peer or a corrupted stream",
                         magic, kMagic);
    return false;
  }
  uint32_t stored = get_le32(in + kHeaderCrcOffset);
  uint32_t computed = crc32c(in, kHeaderCrcOffset);
  if (stored != computed) {
    *error = fmt::format("frame header checksum mismatch (stored 0x{:08x}, computed 0x{:08x})", stored, computed);
    return false;
  }
  uint16_t version = get_le16(in + kHeaderVersionOffset);
  if (version != kVersion) {
    *error = fmt::format("peer speaks wire protocol version {}, this node speaks version {}", version, kVersion);
    return false;
  }
  uint16_t type = get_le16(in + kHeaderTypeOffset);
  if (type == 0 || type > kMaxMsgType) {
    *error = fmt::format("unknown message type {}", type);
    return false;
  }
  uint32_t flags = get_le32(in + kHeaderFlagsOffset);
  if (flags & ~kFrameKnownFlags) {
    *error = fmt::format("unknown frame header flags 0x{:x}", flags);
    return false;
  }
  uint32_t len = get_le32(in + kHeaderPayloadLengthOffset);
  if (len > kMaxPayloadBytes) {
    *error = fmt::format("{} message claims a {} byte payload (limit {})", type_name(MsgType(type)), len,
                         kMaxPayloadBytes);
    return false;
  }
  const MsgType t = static_cast<MsgType>(type);
  const bool has_data = t == MsgType::Data || t == MsgType::ResyncData;
  const uint32_t fixed = fixed_size(t);
  if (len < fixed || (has_data ? len - fixed > kMaxDataBytes : len != fixed)) {
    *error = fmt::format("{} message has a {} byte payload; expected {}", type_name(t), len,
                         has_data ? fmt::format("{} to {}", fixed, fixed + kMaxDataBytes) : std::to_string(fixed));
    return false;
  }
  out->type = t;
  out->flags = flags;
  out->payload_length = len;
  out->payload_crc = get_le32(in + kHeaderPayloadCrcOffset);
  return true;
}

uint32_t fixed_payload_size(MsgType t) { return fixed_size(t); }

bool decode_payload(const FrameHeader& h, const uint8_t* payload, Message* m, std::string* error) {
  uint32_t fixed = fixed_size(h.type);
  return decode_payload_parts(h, payload, payload + std::min(fixed, h.payload_length), m, error);
}

bool decode_payload_parts(const FrameHeader& h, const uint8_t* payload, const uint8_t* data_block, Message* m,
                          std::string* error) {
  const uint32_t fixed = fixed_size(h.type);
  const std::string_view name = type_name(h.type);
  if (h.payload_length < fixed) {
    *error = fmt::format("{} message too short: {} bytes, needs {}", name, h.payload_length, fixed);
    return false;
  }
  uint32_t computed = crc32c(payload, fixed);
  if (!(h.flags & kFrameDataUnchecked)) computed = crc32c(data_block, h.payload_length - fixed, computed);
  if (computed != h.payload_crc) {
    *error = fmt::format("{} message payload checksum mismatch (stored 0x{:08x}, computed 0x{:08x})", name,
                         h.payload_crc, computed);
    return false;
  }
  *m = Message{};
  m->type = h.type;
  Reader r{payload};
  const uint32_t extra = h.payload_length - fixed;
  switch (h.type) {
    case MsgType::Hello:
      m->hello.node_id = r.u32();
      m->hello.expected_peer_node_id = r.u32();
      r.bytes(m->hello.nonce.data(), kNonceBytes);
      m->hello.flags = r.u32();
      break;
    case MsgType::Auth:
      m->auth.mac_length = r.u32();
      r.bytes(m->auth.mac.data(), kMaxMacBytes);
      if (m->auth.mac_length > kMaxMacBytes) {
        *error = fmt::format("Auth message MAC length {} exceeds {}", m->auth.mac_length, kMaxMacBytes);
        return false;
      }
      break;
    case MsgType::State: {
      StateMsg& s = m->state;
      uint8_t role = r.u8(), disk = r.u8(), protocol = r.u8();
      s.flags = r.u8();
      r.u32();
      if (!role_from_u8(role, &s.role) || !disk_state_from_u8(disk, &s.disk)) {
        *error = fmt::format("State message has invalid role {} or disk state {}", role, disk);
        return false;
      }
      if (protocol != 'A' && protocol != 'B' && protocol != 'C') {
        *error = fmt::format("State message names unknown protocol {}", protocol);
        return false;
      }
      s.protocol = static_cast<char>(protocol);
      s.data_size_bytes = r.u64();
      s.current_uuid = r.u64();
      s.bitmap_uuid = r.u64();
      for (uint64_t& v : s.history) v = r.u64();
      s.dirty_bytes = r.u64();
      break;
    }
    case MsgType::Data: {
      DataMsg& d = m->data;
      d.seq = r.u64();
      d.offset = r.u64();
      d.length = r.u32();
      d.flags = r.u32();
      if (d.flags & ~kDataKnownFlags) {
        *error = fmt::format("Data message has unknown flags 0x{:x}", d.flags);
        return false;
      }
      bool has_block = !(d.flags & (kDataTrim | kDataZeroes));
      if (has_block ? (d.length != extra || d.length == 0) : extra != 0) {
        *error = fmt::format("Data message length {} does not match its {} byte data block", d.length, extra);
        return false;
      }
      if (d.offset + d.length < d.offset) {
        *error = "Data message range overflows";
        return false;
      }
      d.data = has_block ? data_block : nullptr;
      break;
    }
    case MsgType::RecvAck:
    case MsgType::WriteAck:
    case MsgType::Flush:
    case MsgType::FlushAck:
      m->seq_result.seq = r.u64();
      m->seq_result.result = static_cast<int32_t>(r.u32());
      r.u32();
      break;
    case MsgType::ResyncData:
    case MsgType::ResyncAck: {
      ResyncMsg& rs = m->resync;
      rs.offset = r.u64();
      rs.length = r.u32();
      rs.result = static_cast<int32_t>(r.u32());
      uint32_t expected = h.type == MsgType::ResyncData ? rs.length : 0;
      if (extra != expected || (h.type == MsgType::ResyncData && rs.length == 0)) {
        *error = fmt::format("{} message length {} does not match its {} byte data block", name, rs.length, extra);
        return false;
      }
      if (rs.offset + rs.length < rs.offset) {
        *error = fmt::format("{} message range overflows", name);
        return false;
      }
      rs.data = h.type == MsgType::ResyncData ? data_block : nullptr;
      break;
    }
    case MsgType::SyncStart:
      m->sync_start.full = r.u64();
      m->sync_start.total_bytes = r.u64();
      break;
    case MsgType::SyncDone:
    case MsgType::NewUuid: m->uuid = r.u64(); break;
    case MsgType::Invalidate:
    case MsgType::VerifyDone: break;
    case MsgType::VerifyRequest:
    case MsgType::VerifyReply: {
      VerifyMsg& v = m->verify;
      v.offset = r.u64();
      v.length = r.u32();
      if (h.type == MsgType::VerifyReply) v.result = static_cast<int32_t>(r.u32());
      v.alg = r.u8();
      v.flags = r.u8();
      r.u16();
      if (h.type == MsgType::VerifyReply)
        r.bytes(v.digests.data(), v.digests.size());
      DigestAlg alg;
      if (!digest_alg_from_id(v.alg, &alg)) {
        *error = fmt::format("{} message names an unknown digest algorithm {}", name, v.alg);
        return false;
      }
      if (v.flags & ~kVerifyForResync) {
        *error = fmt::format("{} message has unknown flags 0x{:x}", name, v.flags);
        return false;
      }
      if (v.length == 0 || v.length % 4096 != 0 || v.length / 4096 > kVerifyMaxBlocks || v.offset % 4096 != 0 ||
          v.offset + v.length < v.offset) {
        *error = fmt::format("{} message has an invalid range ({} bytes at {})", name, v.length, v.offset);
        return false;
      }
      break;
    }
    case MsgType::PromoteReply:
      m->granted = r.u32();
      r.u32();
      break;
    case MsgType::BitmapChunk: {
      BitmapChunk& c = m->bitmap_chunk;
      c.first_word = r.u64();
      c.count = r.u32();
      r.u32();
      for (uint64_t& v : c.words) v = r.u64();
      if (c.count == 0 || c.count > kBitmapChunkWords || c.first_word + c.count < c.first_word) {
        *error = fmt::format("BitmapChunk has an invalid word count {} at word {}", c.count, c.first_word);
        return false;
      }
      break;
    }
    case MsgType::BitmapDone:
      m->bitmap_done.total_words = r.u64();
      m->bitmap_done.set_bits = r.u64();
      break;
    case MsgType::Ping:
    case MsgType::PingAck:
    case MsgType::PromoteRequest: break;
  }
  if (h.type != MsgType::Data && h.type != MsgType::ResyncData && extra != 0) {
    *error = fmt::format("{} message has {} unexpected trailing bytes", name, extra);
    return false;
  }
  return true;
}

}  // namespace tandem::wire
