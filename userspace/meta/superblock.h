// The metadata superblock: in-memory form and its conversion to and from the 4 KiB on-disk block.
// This file (superblock.cc) is the only place where byte order and the checksum of the superblock are
// handled; everything else works with the plain struct below. Byte table: docs/format.md.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "meta/format.h"

namespace tandem::meta {

// Plain values; no byte-order concerns. Offsets here are relative to the start of the metadata area
// (Layout holds absolute ones).
struct Superblock {
  uint32_t format_version = kFormatVersion;  // encode() always writes kFormatVersion.
  uint32_t flags = 0;                        // kFlag* bits.
  uint64_t data_size_bytes = 0;
  uint32_t bitmap_block_size_bytes = kBitmapBlockSizeBytes;
  uint32_t node_id = 0;
  uint32_t peer_node_id = 0;
  uint32_t peer_slots = kPeerSlots;
  uint64_t device_uuid = 0;     // Random at create-md; identifies this metadata in messages.
  uint64_t write_sequence = 0;  // Incremented by every superblock write.
  uint64_t current_uuid = 0;
  uint64_t bitmap_uuid = 0;  // For the peer (slot 0).
  std::array<uint64_t, kHistoryUuids> history_uuids{};
  uint32_t al_extents = kAlExtentsDefault;
  uint32_t md_kind = kMdKindInternal;  // kMdKindInternal / kMdKindExternal.
  uint64_t md_size_bytes = 0;
  uint64_t sb_offset_bytes = 0;  // Within the area.
  uint64_t al_offset_bytes = 0;  // Within the area.
  uint64_t al_size_bytes = 0;
  uint64_t bm_offset_bytes = 0;  // Within the area.
  uint64_t bm_size_bytes = 0;    // All slots.

  bool has(uint32_t flag) const { return (flags & flag) != 0; }
  bool operator==(const Superblock&) const = default;
};

enum class DecodeResult {
  Ok,
  NoMetadata,          // Wrong magic: not tandem metadata at all.
  UnsupportedVersion,  // A tandem superblock of another format version.
  ChecksumMismatch,    // Damaged block.
  Insane,              // Checksum fine but a value is impossible (written by a bug).
};

const char* decode_result_name(DecodeResult r);

// Encodes `sb` into out[0..4096): version kFormatVersion, reserved bytes zero, checksum filled in.
// Does not check the values; callers check with validate() (write_superblock does).
void encode(const Superblock& sb, uint8_t out[kSuperblockSizeBytes]);

// Decodes and checks in this order: magic, version, checksum, values. On anything but Ok, *error says what
// is wrong and *sb is unspecified (except after UnsupportedVersion, where sb->format_version is set).
DecodeResult decode(const uint8_t in[kSuperblockSizeBytes], Superblock* sb, std::string* error);

// The value checks decode() applies: returns an empty string when sane, else the reason.
std::string validate(const Superblock& sb);

// "Consistent|CleanShutdown" or "none": for dump-md and messages.
std::string flags_to_string(uint32_t flags);

}  // namespace tandem::meta
