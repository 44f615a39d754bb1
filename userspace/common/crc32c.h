// CRC-32C (Castagnoli), the checksum of every tandem metadata block and wire frame header.
// Chosen because it is what storage systems use (iSCSI, ext4, btrfs) and detects torn or bit-flipped blocks.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tandem {

// Returns the CRC-32C of [data, data+len), continuing from a previous value `crc` (0 to start).
uint32_t crc32c(const void* data, size_t len, uint32_t crc = 0);

}  // namespace tandem
