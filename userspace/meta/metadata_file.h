// Reading and writing the metadata regions on an open file descriptor (regular file or block device).
// Plain pread/pwrite + fdatasync; no O_DIRECT (the daemon may add it later). Every function returns 0 or a
// negative errno, with a message in *error that names what went wrong and where.
//
// Safety: the superblock is checked before it is written (validate()) and after it is read back, so a bug
// never puts an impossible superblock on disk unnoticed. Not thread-safe per fd: callers serialise metadata
// writes (the daemon has one metadata writer).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "meta/layout.h"
#include "meta/superblock.h"

namespace tandem::meta {

// Reads and decodes the superblock at `sb_offset_bytes`. Errors: I/O errors as -errno; decode failures as
// -ENODATA (NoMetadata), -EPROTONOSUPPORT (UnsupportedVersion), -EBADMSG (ChecksumMismatch), -EUCLEAN
// (Insane). `*result` (optional) gets the decode result (Ok after an I/O error is meaningless).
int read_superblock(int fd, uint64_t sb_offset_bytes, Superblock* sb, std::string* error,
                    DecodeResult* result = nullptr);

// Increments sb->write_sequence, validates, encodes, writes at `sb_offset_bytes`, fdatasyncs, reads the
// block back and compares it byte for byte. On error sb->write_sequence is still incremented (the caller
// should treat the metadata as failed). -EUCLEAN if the values are insane (nothing is written), -EIO if the
// read-back differs.
int write_superblock(int fd, uint64_t sb_offset_bytes, Superblock* sb, std::string* error);

// The bitmap area as 64-bit words, little endian on disk: bit b of the area is bit (b % 64) of word b / 64;
// slot s starts at word s * bitmap_slot_size_bytes(data) / 8, and bit i of a slot covers data bytes
// [i * 4096, (i + 1) * 4096). Bits past the end of the data are padding and must be zero.
// read_bitmap returns layout.bm_size_bytes / 8 words; write_bitmap requires exactly that many and fdatasyncs.
int read_bitmap(int fd, const Layout& layout, std::vector<uint64_t>* words, std::string* error);
int write_bitmap(int fd, const Layout& layout, const std::vector<uint64_t>& words, std::string* error);

// Writes the 4 KiB bitmap pages that hold words [first_word, first_word + n_words) of `words` (the whole
// in-memory bitmap, possibly shorter than the area: missing words are zero), then fdatasyncs.
int write_bitmap_words(int fd, const Layout& layout, const std::vector<uint64_t>& words, uint64_t first_word,
                       uint64_t n_words, std::string* error);

// The activity-log ring: read whole (kAlSlots × kAlSlotBytes), or write one slot and fdatasync.
int read_al_ring(int fd, const Layout& layout, std::vector<uint8_t>* ring, std::string* error);
int write_al_slot(int fd, const Layout& layout, uint32_t slot, const uint8_t* block, std::string* error);

// Writes zeros over [offset, offset + size) in bounded chunks, then fdatasyncs.
int zero_region(int fd, uint64_t offset_bytes, uint64_t size_bytes, std::string* error);
// zero_region over the activity-log area.
int zero_al(int fd, const Layout& layout, std::string* error);

// Whole-buffer pread/pwrite that retry short transfers and EINTR; a premature end of file is -EIO.
int pread_full(int fd, void* buf, size_t len, uint64_t offset_bytes, std::string* error);
int pwrite_full(int fd, const void* buf, size_t len, uint64_t offset_bytes, std::string* error);

}  // namespace tandem::meta
