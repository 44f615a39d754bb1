#include "frontend/nbd_export/nbd_codec.h"

#include <cerrno>
#include <cstring>

#include "common/byte_order.h"

namespace tandem::nbd {

void encode_greeting(uint8_t* out, uint16_t handshake_flags) {
  put_be64(out, kMagicNbd);
  put_be64(out + 8, kMagicIHaveOpt);
  put_be16(out + 16, handshake_flags);
}

bool decode_greeting(const uint8_t* in, uint16_t* handshake_flags) {
  if (get_be64(in) != kMagicNbd || get_be64(in + 8) != kMagicIHaveOpt) return false;
  *handshake_flags = get_be16(in + 16);
  return true;
}

void encode_client_flags(uint8_t* out, uint32_t client_flags) { put_be32(out, client_flags); }
uint32_t decode_client_flags(const uint8_t* in) { return get_be32(in); }

void encode_option_header(uint8_t* out, const OptionHeader& h) {
  put_be64(out, kMagicIHaveOpt);
  put_be32(out + 8, h.option);
  put_be32(out + 12, h.length_bytes);
}

bool decode_option_header(const uint8_t* in, OptionHeader* h) {
  if (get_be64(in) != kMagicIHaveOpt) return false;
  h->option = get_be32(in + 8);
  h->length_bytes = get_be32(in + 12);
  return true;
}

void encode_option_reply_header(uint8_t* out, const OptionReplyHeader& h) {
  put_be64(out, kMagicOptionReply);
  put_be32(out + 8, h.option);
  put_be32(out + 12, h.type);
  put_be32(out + 16, h.length_bytes);
}

bool decode_option_reply_header(const uint8_t* in, OptionReplyHeader* h) {
  if (get_be64(in) != kMagicOptionReply) return false;
  h->option = get_be32(in + 8);
  h->type = get_be32(in + 12);
  h->length_bytes = get_be32(in + 16);
  return true;
}

size_t encode_export_name_reply(uint8_t* out, uint64_t size_bytes, uint16_t transmission_flags,
                                bool no_zeroes) {
  put_be64(out, size_bytes);
  put_be16(out + 8, transmission_flags);
  if (no_zeroes) return kExportNameReplyBytes;
  std::memset(out + kExportNameReplyBytes, 0, kExportNameZeroPadBytes);
  return kExportNameReplyBytes + kExportNameZeroPadBytes;
}

void encode_info_export(uint8_t* out, uint64_t size_bytes, uint16_t transmission_flags) {
  put_be16(out, kInfoExport);
  put_be64(out + 2, size_bytes);
  put_be16(out + 10, transmission_flags);
}

void encode_info_block_size(uint8_t* out, const BlockSizes& sizes) {
  put_be16(out, kInfoBlockSize);
  put_be32(out + 2, sizes.minimum_bytes);
  put_be32(out + 6, sizes.preferred_bytes);
  put_be32(out + 10, sizes.maximum_bytes);
}

void encode_info_string(std::vector<uint8_t>* out, uint16_t info_type, std::string_view text) {
  size_t at = out->size();
  out->resize(at + 2 + text.size());
  put_be16(out->data() + at, info_type);
  std::memcpy(out->data() + at + 2, text.data(), text.size());
}

void encode_server_entry(std::vector<uint8_t>* out, std::string_view export_name) {
  size_t at = out->size();
  out->resize(at + 4 + export_name.size());
  put_be32(out->data() + at, uint32_t(export_name.size()));
  std::memcpy(out->data() + at + 4, export_name.data(), export_name.size());
}

void encode_info_request(std::vector<uint8_t>* out, const InfoRequest& r) {
  size_t at = out->size();
  out->resize(at + 4 + r.export_name.size() + 2 + 2 * r.info_types.size());
  uint8_t* p = out->data() + at;
  put_be32(p, uint32_t(r.export_name.size()));
  p += 4;
  std::memcpy(p, r.export_name.data(), r.export_name.size());
  p += r.export_name.size();
  put_be16(p, uint16_t(r.info_types.size()));
  p += 2;
  for (uint16_t t : r.info_types) {
    put_be16(p, t);
    p += 2;
  }
}

bool decode_info_request(const uint8_t* in, size_t length_bytes, InfoRequest* r, std::string* error) {
  if (length_bytes < 4) {
    *error = "payload shorter than the 4-byte name length";
    return false;
  }
  uint32_t name_bytes = get_be32(in);
  if (name_bytes > kMaxStringBytes) {
    *error = "export name longer than 4096 bytes";
    return false;
  }
  // Compare in 64 bits: name_bytes + 6 cannot overflow there.
  if (uint64_t(name_bytes) + 6 > length_bytes) {
    *error = "name length runs past the end of the option";
    return false;
  }
  r->export_name.assign(reinterpret_cast<const char*>(in + 4), name_bytes);
  if (r->export_name.find('\0') != std::string::npos) {
    *error = "export name contains a NUL byte";
    return false;
  }
  const uint8_t* p = in + 4 + name_bytes;
  uint16_t count = get_be16(p);
  p += 2;
  if (uint64_t(name_bytes) + 6 + 2ull * count != length_bytes) {
    *error = "information request count disagrees with the option length";
    return false;
  }
  r->info_types.clear();
  for (uint16_t i = 0; i < count; i++) r->info_types.push_back(get_be16(p + 2 * i));
  return true;
}

void encode_request(uint8_t* out, const Request& r) {
  put_be32(out, kMagicRequest);
  put_be16(out + 4, r.flags);
  put_be16(out + 6, r.type);
  put_be64(out + 8, r.cookie);
  put_be64(out + 16, r.offset);
  put_be32(out + 24, r.length_bytes);
}

bool decode_request(const uint8_t* in, Request* r) {
  if (get_be32(in) != kMagicRequest) return false;
  r->flags = get_be16(in + 4);
  r->type = get_be16(in + 6);
  r->cookie = get_be64(in + 8);
  r->offset = get_be64(in + 16);
  r->length_bytes = get_be32(in + 24);
  return true;
}

void encode_simple_reply(uint8_t* out, const SimpleReply& r) {
  put_be32(out, kMagicSimpleReply);
  put_be32(out + 4, r.error);
  put_be64(out + 8, r.cookie);
}

bool decode_simple_reply(const uint8_t* in, SimpleReply* r) {
  if (get_be32(in) != kMagicSimpleReply) return false;
  r->error = get_be32(in + 4);
  r->cookie = get_be64(in + 8);
  return true;
}

uint32_t error_from_errno(int result) {
  if (result >= 0) return kErrNone;
  switch (-result) {
    case EPERM:
    case EROFS:  // A demoted (Secondary) node: the client sees a write-protected device.
    case EACCES: return kErrPerm;
    case EIO: return kErrIo;
    case ENOMEM: return kErrNoMem;
    case EINVAL: return kErrInval;
    case ENOSPC:
    case EDQUOT:
    case EFBIG: return kErrNoSpc;
    case EOVERFLOW: return kErrOverflow;
    case ENOTSUP: return kErrNotSup;
    case ESHUTDOWN:
    case ENODEV: return kErrShutdown;
    default: return kErrIo;  // Anything unexpected is a failed I/O to the client.
  }
}

namespace {

RequestVerdict reply_error(uint32_t error, const char* reason) {
  RequestVerdict v;
  v.action = RequestVerdict::Action::ReplyError;
  v.error = error;
  v.reason = reason;
  return v;
}

bool beyond_end(const Request& r, uint64_t export_size_bytes) {
  return r.offset > export_size_bytes || r.length_bytes > export_size_bytes - r.offset;
}

}  // namespace

RequestVerdict check_request(const Request& r, uint64_t export_size_bytes, uint32_t max_payload_bytes,
                             bool read_only) {
  RequestVerdict v;
  // A WRITE payload we refuse to buffer cannot be skipped safely without reading it all: the spec allows
  // closing the connection instead, which also stops a client from making us read gigabytes.
  if (r.type == kCmdWrite && r.length_bytes > max_payload_bytes) {
    v.action = RequestVerdict::Action::Disconnect;
    v.reason = "write payload larger than the advertised maximum block size";
    return v;
  }
  if (r.flags & ~kCmdFlagsAccepted) return reply_error(kErrInval, "unsupported command flag");
  switch (r.type) {
    case kCmdDisc:
      v.action = RequestVerdict::Action::Disc;
      return v;
    case kCmdFlush:
      v.op = IoOp::Flush;
      return v;
    case kCmdRead:
      if (r.length_bytes > max_payload_bytes) return reply_error(kErrInval, "read longer than maximum block size");
      if (beyond_end(r, export_size_bytes)) return reply_error(kErrInval, "read beyond the end of the export");
      v.op = IoOp::Read;
      break;
    case kCmdWrite:
      if (read_only) return reply_error(kErrPerm, "write to a read-only export");
      if (beyond_end(r, export_size_bytes)) return reply_error(kErrNoSpc, "write beyond the end of the export");
      v.op = IoOp::Write;
      break;
    case kCmdTrim:
      if (read_only) return reply_error(kErrPerm, "trim on a read-only export");
      if (beyond_end(r, export_size_bytes)) return reply_error(kErrInval, "trim beyond the end of the export");
      v.op = IoOp::Trim;
      break;
    case kCmdWriteZeroes:
      if (read_only) return reply_error(kErrPerm, "write-zeroes on a read-only export");
      if (beyond_end(r, export_size_bytes)) {
        return reply_error(kErrNoSpc, "write-zeroes beyond the end of the export");
      }
      v.op = IoOp::WriteZeroes;
      break;
    default:
      return reply_error(kErrInval, "unknown command type");
  }
  if (r.length_bytes == 0) v.action = RequestVerdict::Action::ReplyOk;
  return v;
}

}  // namespace tandem::nbd
