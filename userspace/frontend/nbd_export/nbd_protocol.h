// Every NBD protocol constant and wire-struct size used by the NBD export, in one place.
//
// Source: the NBD protocol document (NetworkBlockDevice/nbd doc/proto.md). The byte tables live in
// docs/nbd-export.md. Everything on the wire is big-endian; the in-memory structs below are decoded forms
// (host byte order) and are converted to/from bytes only in nbd_codec.cc.
//
// Scope: fixed newstyle negotiation and simple replies only. No TLS, no structured replies, no metadata
// contexts: those options are answered with NBD_REP_ERR_UNSUP, which every client handles.
#pragma once

#include <cstdint>

namespace tandem::nbd {

// ---- Handshake (server greeting) ----
inline constexpr uint64_t kMagicNbd = 0x4e42444d41474943ull;        // "NBDMAGIC"
inline constexpr uint64_t kMagicIHaveOpt = 0x49484156454F5054ull;   // "IHAVEOPT"; also prefixes each option
inline constexpr uint64_t kMagicOptionReply = 0x0003e889045565a9ull;

// Server handshake flags (u16 in the greeting).
inline constexpr uint16_t kFlagFixedNewstyle = 1u << 0;
inline constexpr uint16_t kFlagNoZeroes = 1u << 1;
// Client flags (u32 after the greeting). Any other bit set: the server must close the connection.
inline constexpr uint32_t kClientFlagFixedNewstyle = 1u << 0;
inline constexpr uint32_t kClientFlagNoZeroes = 1u << 1;
inline constexpr uint32_t kClientFlagsKnown = kClientFlagFixedNewstyle | kClientFlagNoZeroes;

// ---- Options ----
inline constexpr uint32_t kOptExportName = 1;
inline constexpr uint32_t kOptAbort = 2;
inline constexpr uint32_t kOptList = 3;
inline constexpr uint32_t kOptPeekExport = 4;  // Withdrawn; answered ERR_UNSUP.
inline constexpr uint32_t kOptStartTls = 5;
inline constexpr uint32_t kOptInfo = 6;
inline constexpr uint32_t kOptGo = 7;
inline constexpr uint32_t kOptStructuredReply = 8;
inline constexpr uint32_t kOptListMetaContext = 9;
inline constexpr uint32_t kOptSetMetaContext = 10;

// Option reply types.
inline constexpr uint32_t kRepAck = 1;
inline constexpr uint32_t kRepServer = 2;
inline constexpr uint32_t kRepInfo = 3;
inline constexpr uint32_t kRepErrBit = 1u << 31;
inline constexpr uint32_t kRepErrUnsup = kRepErrBit + 1;
inline constexpr uint32_t kRepErrPolicy = kRepErrBit + 2;
inline constexpr uint32_t kRepErrInvalid = kRepErrBit + 3;
inline constexpr uint32_t kRepErrPlatform = kRepErrBit + 4;
inline constexpr uint32_t kRepErrTlsReqd = kRepErrBit + 5;
inline constexpr uint32_t kRepErrUnknown = kRepErrBit + 6;
inline constexpr uint32_t kRepErrShutdown = kRepErrBit + 7;
inline constexpr uint32_t kRepErrBlockSizeReqd = kRepErrBit + 8;
inline constexpr uint32_t kRepErrTooBig = kRepErrBit + 9;

// NBD_REP_INFO payload types (first u16 of the payload).
inline constexpr uint16_t kInfoExport = 0;
inline constexpr uint16_t kInfoName = 1;
inline constexpr uint16_t kInfoDescription = 2;
inline constexpr uint16_t kInfoBlockSize = 3;

// ---- Transmission flags (u16, sent with the export size) ----
inline constexpr uint16_t kTxHasFlags = 1u << 0;
inline constexpr uint16_t kTxReadOnly = 1u << 1;
inline constexpr uint16_t kTxSendFlush = 1u << 2;
inline constexpr uint16_t kTxSendFua = 1u << 3;
inline constexpr uint16_t kTxRotational = 1u << 4;
inline constexpr uint16_t kTxSendTrim = 1u << 5;
inline constexpr uint16_t kTxSendWriteZeroes = 1u << 6;
inline constexpr uint16_t kTxSendDf = 1u << 7;
inline constexpr uint16_t kTxCanMultiConn = 1u << 8;

// ---- Transmission phase ----
inline constexpr uint32_t kMagicRequest = 0x25609513u;
inline constexpr uint32_t kMagicSimpleReply = 0x67446698u;

inline constexpr uint16_t kCmdRead = 0;
inline constexpr uint16_t kCmdWrite = 1;
inline constexpr uint16_t kCmdDisc = 2;
inline constexpr uint16_t kCmdFlush = 3;
inline constexpr uint16_t kCmdTrim = 4;
inline constexpr uint16_t kCmdCache = 5;  // Not advertised; answered EINVAL.
inline constexpr uint16_t kCmdWriteZeroes = 6;

inline constexpr uint16_t kCmdFlagFua = 1u << 0;
inline constexpr uint16_t kCmdFlagNoHole = 1u << 1;
inline constexpr uint16_t kCmdFlagDf = 1u << 2;
inline constexpr uint16_t kCmdFlagReqOne = 1u << 3;
inline constexpr uint16_t kCmdFlagFastZero = 1u << 4;
// Flags this server accepts; any other bit gets NBD_EINVAL (we never negotiate DF, REQ_ONE or FAST_ZERO).
inline constexpr uint16_t kCmdFlagsAccepted = kCmdFlagFua | kCmdFlagNoHole;

// NBD error values (fixed by the protocol, independent of the host's errno numbering).
inline constexpr uint32_t kErrNone = 0;
inline constexpr uint32_t kErrPerm = 1;
inline constexpr uint32_t kErrIo = 5;
inline constexpr uint32_t kErrNoMem = 12;
inline constexpr uint32_t kErrInval = 22;
inline constexpr uint32_t kErrNoSpc = 28;
inline constexpr uint32_t kErrOverflow = 75;
inline constexpr uint32_t kErrNotSup = 95;
inline constexpr uint32_t kErrShutdown = 108;

// ---- Wire sizes in bytes ----
inline constexpr uint32_t kGreetingBytes = 18;         // u64 NBDMAGIC, u64 IHAVEOPT, u16 flags
inline constexpr uint32_t kClientFlagsBytes = 4;       // u32
inline constexpr uint32_t kOptionHeaderBytes = 16;     // u64 IHAVEOPT, u32 option, u32 length
inline constexpr uint32_t kOptionReplyHeaderBytes = 20;  // u64 magic, u32 option, u32 type, u32 length
inline constexpr uint32_t kExportNameReplyBytes = 10;  // u64 size, u16 flags (+124 zero bytes without NO_ZEROES)
inline constexpr uint32_t kExportNameZeroPadBytes = 124;
inline constexpr uint32_t kInfoExportBytes = 12;       // u16 type, u64 size, u16 flags
inline constexpr uint32_t kInfoBlockSizeBytes = 14;    // u16 type, u32 min, u32 preferred, u32 max
inline constexpr uint32_t kRequestBytes = 28;          // u32 magic, u16 flags, u16 type, u64 cookie, u64 off, u32 len
inline constexpr uint32_t kSimpleReplyBytes = 16;      // u32 magic, u32 error, u64 cookie

// Protocol limit on any string (export name, description).
inline constexpr uint32_t kMaxStringBytes = 4096;

// ---- Decoded (host-order) forms ----
struct OptionHeader {
  uint32_t option = 0;
  uint32_t length_bytes = 0;
};

struct OptionReplyHeader {
  uint32_t option = 0;
  uint32_t type = 0;
  uint32_t length_bytes = 0;
};

struct Request {
  uint16_t flags = 0;
  uint16_t type = 0;
  uint64_t cookie = 0;
  uint64_t offset = 0;
  uint32_t length_bytes = 0;
};

struct SimpleReply {
  uint32_t error = 0;
  uint64_t cookie = 0;
};

struct BlockSizes {
  uint32_t minimum_bytes = 1;
  uint32_t preferred_bytes = 4096;
  uint32_t maximum_bytes = 32u << 20;
};

}  // namespace tandem::nbd
