#include "meta/layout.h"

#include <fmt/format.h>

#include <cerrno>

#include "common/check.h"
#include "meta/format.h"
#include "meta/superblock.h"

namespace tandem::meta {

namespace {

uint64_t align_down(uint64_t v) { return v / kAlignBytes * kAlignBytes; }
uint64_t align_up(uint64_t v) { return (v + kAlignBytes - 1) / kAlignBytes * kAlignBytes; }

// Fills the region offsets of `out` for an area starting at md_offset with the given sizes.
void place_regions(Layout* out) {
  uint64_t start = out->md_offset_bytes;
  if (out->kind == MdKind::Internal) {
    // [bitmap][activity log][superblock]: superblock last, at the very end of the backing store.
    out->bm_offset_bytes = start;
    out->al_offset_bytes = start + out->bm_size_bytes;
    out->sb_offset_bytes = out->al_offset_bytes + out->al_size_bytes;
  } else {
    // [superblock][activity log][bitmap]: superblock first, at offset 0 of the meta-disk.
    out->sb_offset_bytes = start;
    out->al_offset_bytes = start + kSuperblockSizeBytes;
    out->bm_offset_bytes = out->al_offset_bytes + out->al_size_bytes;
  }
  TANDEM_CHECK(out->md_size_bytes == kSuperblockSizeBytes + out->al_size_bytes + out->bm_size_bytes);
}

}  // namespace

const char* md_kind_name(MdKind kind) { return kind == MdKind::Internal ? "internal" : "external"; }

uint64_t bitmap_slot_size_bytes(uint64_t data_size_bytes) {
  uint64_t bits = (data_size_bytes + kBitmapBlockSizeBytes - 1) / kBitmapBlockSizeBytes;
  return align_up((bits + 7) / 8);
}

uint64_t md_area_size_bytes(uint64_t data_size_bytes, uint32_t peer_slots) {
  return kSuperblockSizeBytes + kAlAreaSizeBytes + bitmap_slot_size_bytes(data_size_bytes) * peer_slots;
}

int compute_layout(const LayoutRequest& req, Layout* out, std::string* error) {
  TANDEM_CHECK(req.peer_slots >= 1);
  Layout l;
  l.kind = req.kind;
  l.peer_slots = req.peer_slots;
  l.al_size_bytes = kAlAreaSizeBytes;
  uint64_t backing = align_down(req.backing_size_bytes);
  if (req.kind == MdKind::Internal) {
    uint64_t min_backing = kMinDataSizeBytes + md_area_size_bytes(kMinDataSizeBytes, req.peer_slots);
    if (backing < min_backing) {
      *error = fmt::format(
          "the backing store ({} bytes) is too small for internal metadata: at least {} bytes ({} KiB) are needed "
          "({} of data plus {} of metadata)",
          req.backing_size_bytes, min_backing, min_backing / 1024, format_size(kMinDataSizeBytes),
          format_size(min_backing - kMinDataSizeBytes));
      return -ENOSPC;
    }
    // The bitmap size depends on the data size, which depends on the bitmap size. Start from a bitmap sized
    // for the whole store (too big by at most one block), then try the data size that the smaller bitmap
    // allows; keep it only if its own metadata still fits.
    uint64_t data = backing - md_area_size_bytes(backing, req.peer_slots);
    uint64_t bigger = backing - md_area_size_bytes(data, req.peer_slots);
    if (bigger + md_area_size_bytes(bigger, req.peer_slots) <= backing) data = bigger;
    l.data_size_bytes = data;
    l.md_size_bytes = md_area_size_bytes(data, req.peer_slots);
    l.md_offset_bytes = backing - l.md_size_bytes;
    TANDEM_CHECK(l.data_size_bytes >= kMinDataSizeBytes && l.data_size_bytes <= l.md_offset_bytes);
  } else {
    if (backing < kMinDataSizeBytes) {
      *error = fmt::format("the backing store ({} bytes) is too small: at least {} bytes ({}) are needed",
                           req.backing_size_bytes, kMinDataSizeBytes, format_size(kMinDataSizeBytes));
      return -ENOSPC;
    }
    l.data_size_bytes = backing;
    l.md_size_bytes = md_area_size_bytes(backing, req.peer_slots);
    l.md_offset_bytes = 0;
    if (align_down(req.meta_disk_size_bytes) < l.md_size_bytes) {
      *error = fmt::format(
          "the meta-disk ({} bytes) is too small for a data size of {} bytes: at least {} bytes ({} KiB) are needed",
          req.meta_disk_size_bytes, l.data_size_bytes, l.md_size_bytes, l.md_size_bytes / 1024);
      return -ENOSPC;
    }
  }
  l.bm_size_bytes = bitmap_slot_size_bytes(l.data_size_bytes) * req.peer_slots;
  place_regions(&l);
  *out = l;
  return 0;
}

int superblock_offset(MdKind kind, uint64_t md_device_size_bytes, uint64_t* offset_bytes, std::string* error) {
  uint64_t size = align_down(md_device_size_bytes);
  if (size < kSuperblockSizeBytes) {
    *error = fmt::format("the {} is only {} bytes, too small to hold tandem metadata",
                         kind == MdKind::Internal ? "backing store" : "meta-disk", md_device_size_bytes);
    return -ENOSPC;
  }
  *offset_bytes = kind == MdKind::Internal ? size - kSuperblockSizeBytes : 0;
  return 0;
}

int layout_from_superblock(const Superblock& sb, uint64_t sb_offset_bytes, uint64_t md_device_size_bytes,
                           uint64_t backing_size_bytes, Layout* out, std::string* error) {
  // The superblock passed decode(), so its regions are sane relative to the area; place the area.
  if (sb.sb_offset_bytes > sb_offset_bytes) {
    *error = fmt::format("the superblock at offset {} says it is {} bytes into its metadata area, which would "
                         "start before the device",
                         sb_offset_bytes, sb.sb_offset_bytes);
    return -EUCLEAN;
  }
  Layout l;
  l.kind = sb.md_kind == kMdKindInternal ? MdKind::Internal : MdKind::External;
  l.peer_slots = sb.peer_slots;
  l.data_size_bytes = sb.data_size_bytes;
  l.md_size_bytes = sb.md_size_bytes;
  l.md_offset_bytes = sb_offset_bytes - sb.sb_offset_bytes;
  l.sb_offset_bytes = sb_offset_bytes;
  l.al_offset_bytes = l.md_offset_bytes + sb.al_offset_bytes;
  l.al_size_bytes = sb.al_size_bytes;
  l.bm_offset_bytes = l.md_offset_bytes + sb.bm_offset_bytes;
  l.bm_size_bytes = sb.bm_size_bytes;
  if (l.md_size_bytes > md_device_size_bytes || l.md_offset_bytes > md_device_size_bytes - l.md_size_bytes) {
    *error = fmt::format("the metadata area ({} bytes at offset {}) does not fit on the {}-byte device",
                         l.md_size_bytes, l.md_offset_bytes, md_device_size_bytes);
    return -EUCLEAN;
  }
  uint64_t data_room = l.kind == MdKind::Internal ? l.md_offset_bytes : align_down(backing_size_bytes);
  if (l.data_size_bytes > data_room) {
    *error = fmt::format("the metadata describes {} bytes of data but the backing store has room for only {} "
                         "bytes; was it shrunk after create-md?",
                         l.data_size_bytes, data_room);
    return -EUCLEAN;
  }
  *out = l;
  return 0;
}

void store_layout(const Layout& l, Superblock* sb) {
  sb->md_kind = l.kind == MdKind::Internal ? kMdKindInternal : kMdKindExternal;
  sb->data_size_bytes = l.data_size_bytes;
  sb->peer_slots = l.peer_slots;
  sb->md_size_bytes = l.md_size_bytes;
  sb->sb_offset_bytes = l.sb_offset_bytes - l.md_offset_bytes;
  sb->al_offset_bytes = l.al_offset_bytes - l.md_offset_bytes;
  sb->al_size_bytes = l.al_size_bytes;
  sb->bm_offset_bytes = l.bm_offset_bytes - l.md_offset_bytes;
  sb->bm_size_bytes = l.bm_size_bytes;
}

std::string format_size(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int unit = 0;
  uint64_t scale = 1;
  while (unit < 6 && bytes / scale >= 1024) {
    scale *= 1024;
    unit++;
  }
  if (bytes % scale == 0) return fmt::format("{} {}", bytes / scale, kUnits[unit]);
  return fmt::format("{:.1f} {}", double(bytes) / double(scale), kUnits[unit]);
}

}  // namespace tandem::meta
