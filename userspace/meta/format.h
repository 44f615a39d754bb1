// Every constant of tandem's on-disk metadata format, in one place. docs/format.md is the byte table that
// goes with this header; change both together, and bump kFormatVersion for any change of meaning or layout
// (older and newer versions are refused with a clear message, never guessed at).
//
// Metadata area (all offsets and sizes are multiples of 4 KiB):
//   internal meta-disk, at the END of the backing store:  [data ...][gap][bitmap][activity log][superblock]
//     The superblock is the last 4 KiB of the backing store, so it can be found from the store's size alone.
//   external meta-disk, at offset 0 of the meta-disk:     [superblock][activity log][bitmap][unused ...]
// All integers are little endian. The superblock stores the offsets of its regions relative to the start of
// the metadata area, so the area describes itself.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tandem::meta {

// "TANDEMMD": chosen to be unmistakable in a hex dump and unlike any signature libblkid knows.
inline constexpr uint8_t kMagic[8] = {'T', 'A', 'N', 'D', 'E', 'M', 'M', 'D'};
inline constexpr uint32_t kFormatVersion = 1;

// Sizes. Everything is aligned to 4 KiB so it can later be written with O_DIRECT and never tears a page.
inline constexpr uint64_t kAlignBytes = 4096;
inline constexpr size_t kSuperblockSizeBytes = 4096;
inline constexpr uint64_t kAlAreaSizeBytes = 32 * 1024;  // Ring of activity-log transactions (DRBD's default).
inline constexpr uint32_t kBitmapBlockSizeBytes = 4096;  // Data bytes covered by one bitmap bit.
inline constexpr uint32_t kPeerSlots = 1;                // Bitmap slots; one peer for now.
// Smallest usable data area; anything smaller is almost certainly a mistake in the configuration.
inline constexpr uint64_t kMinDataSizeBytes = 1024 * 1024;

// Activity-log extents: DRBD's range and default (DRBD 8.4 documents 7 as the minimum).
inline constexpr uint32_t kAlExtentsMin = 7;
inline constexpr uint32_t kAlExtentsMax = 65534;
inline constexpr uint32_t kAlExtentsDefault = 1237;

// The activity-log ring (docs/format.md, "Activity log"): kAlSlots transactions of one 4 KiB block each,
// transaction `seq` in slot seq % kAlSlots. Each records the extents it brought into the active set and a
// window of the whole set (the "context"), so the newest transactions together describe the full set.
inline constexpr uint32_t kAlMagic = 0x4C41444Eu;  // "NDAL" little endian: "tandem activity log".
inline constexpr uint32_t kAlVersion = 1;
inline constexpr uint32_t kAlSlotBytes = 4096;
inline constexpr uint32_t kAlSlots = kAlAreaSizeBytes / kAlSlotBytes;
inline constexpr uint32_t kAlExtentShift = 22;  // 4 MiB extents, as DRBD's AL_EXTENT_SHIFT
inline constexpr uint64_t kAlExtentBytes = 1ull << kAlExtentShift;
inline constexpr uint32_t kAlUpdatesPerTx = 64;
inline constexpr uint32_t kAlFreeExtent = 0xFFFFFFFFu;  // an unused slot of the active set
namespace al {
inline constexpr size_t kMagicOff = 0;         // u32 kAlMagic
inline constexpr size_t kVersionOff = 4;       // u32 kAlVersion
inline constexpr size_t kSeqOff = 8;           // u64 transaction sequence number, >= 1
inline constexpr size_t kExtentsOff = 16;      // u32 size of the active set (al-extents in use)
inline constexpr size_t kNUpdatesOff = 20;     // u16 updates used
inline constexpr size_t kNContextOff = 22;     // u16 context entries used
inline constexpr size_t kContextStartOff = 24; // u32 active-set slot of the first context entry
inline constexpr size_t kReservedOff = 28;     // u32 zero
inline constexpr size_t kUpdatesOff = 32;      // {u32 slot, u32 extent}[kAlUpdatesPerTx]
inline constexpr size_t kContextOff = kUpdatesOff + 8 * kAlUpdatesPerTx;  // u32 extent[kAlContextPerTx]
inline constexpr size_t kCrcOff = 4092;        // u32 CRC-32C of the block with this field zero
}  // namespace al
inline constexpr uint32_t kAlContextPerTx = (al::kCrcOff - al::kContextOff) / 4;
// The newest transaction may be torn by a crash, so kAlSlots - 1 intact ones must describe the whole set:
// larger al-extents are reduced to this (DRBD: 6433 with its 919 context entries per transaction).
inline constexpr uint32_t kAlExtentsUsable = (kAlSlots - 1) * kAlContextPerTx;
static_assert(kAlSlots * kAlSlotBytes == kAlAreaSizeBytes);
static_assert(al::kContextOff + 4 * kAlContextPerTx <= al::kCrcOff);

inline constexpr uint32_t kMaxNodeId = 31;
inline constexpr int kHistoryUuids = 4;

// Generation UUID values with a fixed meaning (DRBD's): a freshly created device.
inline constexpr uint64_t kUuidJustCreated = 4;

// Where the metadata lives; stored in the superblock.
inline constexpr uint32_t kMdKindInternal = 1;
inline constexpr uint32_t kMdKindExternal = 2;

// Superblock flags (bit numbers are part of the format).
inline constexpr uint32_t kFlagConsistent = 1u << 0;      // Data is consistent (not mid-sync as a target).
inline constexpr uint32_t kFlagWasUpToDate = 1u << 1;     // Data was UpToDate when last known.
inline constexpr uint32_t kFlagPrimaryInd = 1u << 2;      // Node was Primary.
inline constexpr uint32_t kFlagCrashedPrimary = 1u << 3;  // Node was Primary and did not demote cleanly.
inline constexpr uint32_t kFlagFullSync = 1u << 4;        // A full sync is required.
inline constexpr uint32_t kFlagCleanShutdown = 1u << 5;   // Daemon stopped cleanly; cleared while running.
inline constexpr uint32_t kFlagPeerOutdated = 1u << 6;    // The peer's data is known to be Outdated.
// The daemon that wrote this superblock kept the activity log: the on-disk bitmap plus the extents in the AL
// ring cover every block that may differ from the peer, so an unclean stop needs no full resync.
inline constexpr uint32_t kFlagActivityLog = 1u << 7;
// The current generation was started by this node as a Primary that lost its peer (split-brain policies).
inline constexpr uint32_t kFlagPrimaryAtSplit = 1u << 8;
inline constexpr uint32_t kKnownFlags = (1u << 9) - 1;

// Superblock field offsets (bytes from the start of the 4 KiB block). See docs/format.md.
namespace sb {
inline constexpr size_t kMagicOff = 0;             // u8[8]
inline constexpr size_t kVersionOff = 8;           // u32
inline constexpr size_t kFlagsOff = 12;            // u32
inline constexpr size_t kDataSizeOff = 16;         // u64, bytes
inline constexpr size_t kBitmapBlockSizeOff = 24;  // u32, bytes per bit
inline constexpr size_t kNodeIdOff = 28;           // u32
inline constexpr size_t kPeerNodeIdOff = 32;       // u32
inline constexpr size_t kPeerSlotsOff = 36;        // u32
inline constexpr size_t kDeviceUuidOff = 40;       // u64
inline constexpr size_t kWriteSequenceOff = 48;    // u64
inline constexpr size_t kCurrentUuidOff = 56;      // u64
inline constexpr size_t kBitmapUuidOff = 64;       // u64 (slot 0)
inline constexpr size_t kHistoryUuidsOff = 72;     // u64[4]
inline constexpr size_t kAlExtentsOff = 104;       // u32
inline constexpr size_t kMdKindOff = 108;          // u32
inline constexpr size_t kMdSizeOff = 112;          // u64, bytes, whole metadata area
inline constexpr size_t kSbOffsetOff = 120;        // u64, superblock offset within the area
inline constexpr size_t kAlOffsetOff = 128;        // u64, within the area
inline constexpr size_t kAlSizeOff = 136;          // u64
inline constexpr size_t kBmOffsetOff = 144;        // u64, within the area
inline constexpr size_t kBmSizeOff = 152;          // u64, all slots
inline constexpr size_t kReservedOff = 160;        // zero bytes up to the checksum
inline constexpr size_t kCrcOff = 4092;            // u32, CRC-32C of the block with this field zeroed
}  // namespace sb

static_assert(sb::kReservedOff <= sb::kCrcOff);
static_assert(sb::kCrcOff + 4 == kSuperblockSizeBytes);

}  // namespace tandem::meta
