#include "meta/superblock.h"

#include <fmt/format.h>

#include <cstring>

#include "common/byte_order.h"
#include "common/crc32c.h"
#include "meta/layout.h"

namespace tandem::meta {

namespace {

uint32_t block_crc(const uint8_t* block) {
  // The checksum covers the whole block with the crc field taken as zero.
  static const uint8_t kZero[4] = {0, 0, 0, 0};
  uint32_t crc = crc32c(block, sb::kCrcOff);
  return crc32c(kZero, sizeof kZero, crc);
}

bool aligned(uint64_t v) { return v % kAlignBytes == 0; }

// Empty if [off, off+size) is an aligned, non-empty region inside [0, area); else why not.
std::string check_region(const char* name, uint64_t off, uint64_t size, uint64_t area) {
  if (size == 0 || !aligned(off) || !aligned(size))
    return fmt::format("{} region (offset {}, size {}) is empty or not 4 KiB aligned", name, off, size);
  if (off > area || size > area - off)
    return fmt::format("{} region (offset {}, size {}) lies outside the metadata area of {} bytes", name, off,
                       size, area);
  return {};
}

bool overlap(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size) { return a < b + b_size && b < a + a_size; }

}  // namespace

const char* decode_result_name(DecodeResult r) {
  switch (r) {
    case DecodeResult::Ok: return "ok";
    case DecodeResult::NoMetadata: return "no metadata";
    case DecodeResult::UnsupportedVersion: return "unsupported version";
    case DecodeResult::ChecksumMismatch: return "checksum mismatch";
    case DecodeResult::Insane: return "insane values";
  }
  return "?";
}

void encode(const Superblock& s, uint8_t out[kSuperblockSizeBytes]) {
  std::memset(out, 0, kSuperblockSizeBytes);
  std::memcpy(out + sb::kMagicOff, kMagic, sizeof kMagic);
  put_le32(out + sb::kVersionOff, kFormatVersion);
  put_le32(out + sb::kFlagsOff, s.flags);
  put_le64(out + sb::kDataSizeOff, s.data_size_bytes);
  put_le32(out + sb::kBitmapBlockSizeOff, s.bitmap_block_size_bytes);
  put_le32(out + sb::kNodeIdOff, s.node_id);
  put_le32(out + sb::kPeerNodeIdOff, s.peer_node_id);
  put_le32(out + sb::kPeerSlotsOff, s.peer_slots);
  put_le64(out + sb::kDeviceUuidOff, s.device_uuid);
  put_le64(out + sb::kWriteSequenceOff, s.write_sequence);
  put_le64(out + sb::kCurrentUuidOff, s.current_uuid);
  put_le64(out + sb::kBitmapUuidOff, s.bitmap_uuid);
  for (int i = 0; i < kHistoryUuids; i++) put_le64(out + sb::kHistoryUuidsOff + 8 * i, s.history_uuids[i]);
  put_le32(out + sb::kAlExtentsOff, s.al_extents);
  put_le32(out + sb::kMdKindOff, s.md_kind);
  put_le64(out + sb::kMdSizeOff, s.md_size_bytes);
  put_le64(out + sb::kSbOffsetOff, s.sb_offset_bytes);
  put_le64(out + sb::kAlOffsetOff, s.al_offset_bytes);
  put_le64(out + sb::kAlSizeOff, s.al_size_bytes);
  put_le64(out + sb::kBmOffsetOff, s.bm_offset_bytes);
  put_le64(out + sb::kBmSizeOff, s.bm_size_bytes);
  put_le32(out + sb::kCrcOff, block_crc(out));
}

DecodeResult decode(const uint8_t in[kSuperblockSizeBytes], Superblock* s, std::string* error) {
  if (std::memcmp(in + sb::kMagicOff, kMagic, sizeof kMagic) != 0) {
    *error = "no tandem metadata found";
    return DecodeResult::NoMetadata;
  }
  // Version before checksum: another version may place or compute its checksum differently.
  s->format_version = get_le32(in + sb::kVersionOff);
  if (s->format_version != kFormatVersion) {
    *error = fmt::format(
        "tandem metadata format version {} is not supported: this build reads and writes only version {}{}",
        s->format_version, kFormatVersion,
        s->format_version > kFormatVersion ? " (the metadata was written by a newer tandem; use that version)"
                                           : " (the metadata was written by an older tandem)");
    return DecodeResult::UnsupportedVersion;
  }
  uint32_t stored = get_le32(in + sb::kCrcOff);
  uint32_t computed = block_crc(in);
  if (stored != computed) {
    *error = fmt::format(
        "metadata superblock checksum mismatch: stored 0x{:08x}, computed 0x{:08x} — the metadata is damaged",
        stored, computed);
    return DecodeResult::ChecksumMismatch;
  }
  s->flags = get_le32(in + sb::kFlagsOff);
  s->data_size_bytes = get_le64(in + sb::kDataSizeOff);
  s->bitmap_block_size_bytes = get_le32(in + sb::kBitmapBlockSizeOff);
  s->node_id = get_le32(in + sb::kNodeIdOff);
  s->peer_node_id = get_le32(in + sb::kPeerNodeIdOff);
  s->peer_slots = get_le32(in + sb::kPeerSlotsOff);
  s->device_uuid = get_le64(in + sb::kDeviceUuidOff);
  s->write_sequence = get_le64(in + sb::kWriteSequenceOff);
  s->current_uuid = get_le64(in + sb::kCurrentUuidOff);
  s->bitmap_uuid = get_le64(in + sb::kBitmapUuidOff);
  for (int i = 0; i < kHistoryUuids; i++) s->history_uuids[i] = get_le64(in + sb::kHistoryUuidsOff + 8 * i);
  s->al_extents = get_le32(in + sb::kAlExtentsOff);
  s->md_kind = get_le32(in + sb::kMdKindOff);
  s->md_size_bytes = get_le64(in + sb::kMdSizeOff);
  s->sb_offset_bytes = get_le64(in + sb::kSbOffsetOff);
  s->al_offset_bytes = get_le64(in + sb::kAlOffsetOff);
  s->al_size_bytes = get_le64(in + sb::kAlSizeOff);
  s->bm_offset_bytes = get_le64(in + sb::kBmOffsetOff);
  s->bm_size_bytes = get_le64(in + sb::kBmSizeOff);
  std::string why = validate(*s);
  if (!why.empty()) {
    *error = "metadata superblock has impossible values: " + why;
    return DecodeResult::Insane;
  }
  return DecodeResult::Ok;
}

std::string validate(const Superblock& s) {
  if (s.data_size_bytes == 0 || !aligned(s.data_size_bytes))
    return fmt::format("data size {} is zero or not a multiple of 4096", s.data_size_bytes);
  if (s.bitmap_block_size_bytes != kBitmapBlockSizeBytes)
    return fmt::format("bitmap block size {} (only {} is supported)", s.bitmap_block_size_bytes,
                       kBitmapBlockSizeBytes);
  if (s.node_id > kMaxNodeId) return fmt::format("node-id {} is above {}", s.node_id, kMaxNodeId);
  if (s.peer_node_id > kMaxNodeId) return fmt::format("peer node-id {} is above {}", s.peer_node_id, kMaxNodeId);
  if (s.node_id == s.peer_node_id) return fmt::format("node-id and peer node-id are both {}", s.node_id);
  if (s.peer_slots != kPeerSlots)
    return fmt::format("{} peer bitmap slots (only {} is supported)", s.peer_slots, kPeerSlots);
  if ((s.flags & ~kKnownFlags) != 0) return fmt::format("unknown flag bits 0x{:x}", s.flags & ~kKnownFlags);
  if (s.al_extents < kAlExtentsMin || s.al_extents > kAlExtentsMax)
    return fmt::format("al-extents {} is outside {}..{}", s.al_extents, kAlExtentsMin, kAlExtentsMax);
  if (s.md_kind != kMdKindInternal && s.md_kind != kMdKindExternal)
    return fmt::format("unknown meta-disk kind {}", s.md_kind);
  if (!aligned(s.md_size_bytes) || s.md_size_bytes == 0)
    return fmt::format("metadata area size {} is zero or not a multiple of 4096", s.md_size_bytes);
  uint64_t area = s.md_size_bytes;
  std::string why = check_region("superblock", s.sb_offset_bytes, kSuperblockSizeBytes, area);
  if (why.empty()) why = check_region("activity-log", s.al_offset_bytes, s.al_size_bytes, area);
  if (why.empty()) why = check_region("bitmap", s.bm_offset_bytes, s.bm_size_bytes, area);
  if (!why.empty()) return why;
  uint64_t want_sb = s.md_kind == kMdKindInternal ? area - kSuperblockSizeBytes : 0;
  if (s.sb_offset_bytes != want_sb)
    return fmt::format("superblock offset {} in the area, expected {} for {} metadata", s.sb_offset_bytes,
                       want_sb, s.md_kind == kMdKindInternal ? "internal" : "external");
  if (overlap(s.sb_offset_bytes, kSuperblockSizeBytes, s.al_offset_bytes, s.al_size_bytes) ||
      overlap(s.sb_offset_bytes, kSuperblockSizeBytes, s.bm_offset_bytes, s.bm_size_bytes) ||
      overlap(s.al_offset_bytes, s.al_size_bytes, s.bm_offset_bytes, s.bm_size_bytes))
    return "superblock, activity-log and bitmap regions overlap";
  if (s.al_size_bytes != kAlAreaSizeBytes)
    return fmt::format("activity-log size {} (expected {})", s.al_size_bytes, kAlAreaSizeBytes);
  uint64_t want_bm = bitmap_slot_size_bytes(s.data_size_bytes) * s.peer_slots;
  if (s.bm_size_bytes != want_bm)
    return fmt::format("bitmap size {} does not match data size {} (expected {})", s.bm_size_bytes,
                       s.data_size_bytes, want_bm);
  return {};
}

std::string flags_to_string(uint32_t flags) {
  static const struct {
    uint32_t bit;
    const char* name;
  } kNames[] = {{kFlagConsistent, "Consistent"},       {kFlagWasUpToDate, "WasUpToDate"},
                {kFlagPrimaryInd, "PrimaryInd"},       {kFlagCrashedPrimary, "CrashedPrimary"},
                {kFlagFullSync, "FullSync"},           {kFlagCleanShutdown, "CleanShutdown"},
                {kFlagPeerOutdated, "PeerOutdated"},   {kFlagActivityLog, "ActivityLog"},
                {kFlagPrimaryAtSplit, "PrimaryAtSplit"}};
  std::string out;
  for (const auto& n : kNames) {
    if (!(flags & n.bit)) continue;
    if (!out.empty()) out += '|';
    out += n.name;
  }
  if (flags & ~kKnownFlags) out += fmt::format("{}0x{:x}", out.empty() ? "" : "|", flags & ~kKnownFlags);
  return out.empty() ? "none" : out;
}

}  // namespace tandem::meta
