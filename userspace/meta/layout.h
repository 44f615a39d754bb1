// Where data and metadata live on the backing store and meta-disk. Pure arithmetic: no I/O.
//
// Internal meta-disk: the metadata area is at the end of the backing store (superblock last, so it is found
// from the store's size alone); data is [0, data_size). The data size is the largest multiple of 4 KiB whose
// own metadata area still fits behind it; a gap of less than a few KiB may be left between the two.
// External meta-disk: the data is the whole backing store (rounded down to 4 KiB); the metadata area starts
// at offset 0 of the meta-disk, superblock first. The meta-disk may be larger than the area; the rest is
// left alone.
#pragma once

#include <cstdint>
#include <string>

namespace tandem::meta {

struct Superblock;

enum class MdKind : uint32_t { Internal = 1, External = 2 };

const char* md_kind_name(MdKind kind);  // "internal" / "external"

// All offsets are absolute byte offsets on the device that holds the metadata (the backing store for
// internal, the meta-disk for external). Invariant: every value is a multiple of 4 KiB and the regions lie
// inside [md_offset_bytes, md_offset_bytes + md_size_bytes) without overlapping.
struct Layout {
  MdKind kind = MdKind::Internal;
  uint64_t data_size_bytes = 0;
  uint64_t md_offset_bytes = 0;
  uint64_t md_size_bytes = 0;
  uint64_t sb_offset_bytes = 0;
  uint64_t al_offset_bytes = 0;
  uint64_t al_size_bytes = 0;
  uint64_t bm_offset_bytes = 0;
  uint64_t bm_size_bytes = 0;  // All peer slots together.
  uint32_t peer_slots = 0;
};

// Bytes of bitmap for one peer slot: one bit per 4 KiB of data, rounded up to whole 4 KiB blocks.
uint64_t bitmap_slot_size_bytes(uint64_t data_size_bytes);
// Bytes of the whole metadata area for a given data size.
uint64_t md_area_size_bytes(uint64_t data_size_bytes, uint32_t peer_slots);

struct LayoutRequest {
  MdKind kind = MdKind::Internal;
  uint64_t backing_size_bytes = 0;
  uint64_t meta_disk_size_bytes = 0;  // External only.
  uint32_t peer_slots = 1;
};

// Computes the layout. Returns 0, or -ENOSPC with a message naming the minimum size when the backing store
// (or external meta-disk) is too small.
int compute_layout(const LayoutRequest& req, Layout* out, std::string* error);

// Offset of the superblock on the metadata device: the last 4 KiB (internal) or 0 (external). Returns
// -ENOSPC with a message if the device cannot even hold a superblock.
int superblock_offset(MdKind kind, uint64_t md_device_size_bytes, uint64_t* offset_bytes, std::string* error);

// Absolute layout from a decoded superblock found at `sb_offset_bytes` on a metadata device of
// `md_device_size_bytes`, backing store `backing_size_bytes` (same device for internal). Checks that the
// area fits on the device and that the data fits on the backing store (they may have shrunk since
// create-md). Returns 0 or -EUCLEAN with a message.
int layout_from_superblock(const Superblock& sb, uint64_t sb_offset_bytes, uint64_t md_device_size_bytes,
                           uint64_t backing_size_bytes, Layout* out, std::string* error);

// Copies the layout's description (kind, sizes, offsets relative to the area) into a superblock.
void store_layout(const Layout& layout, Superblock* sb);

// "1.0 GiB", "32 KiB", "4096 B": for messages.
std::string format_size(uint64_t bytes);

}  // namespace tandem::meta
