#include "meta/metadata_file.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/byte_order.h"
#include "common/check.h"
#include "meta/format.h"

namespace tandem::meta {

namespace {

// Bounded scratch for bitmap and zeroing I/O, so a large bitmap never needs one huge temporary buffer.
constexpr size_t kChunkBytes = 1 << 20;

int errno_for(DecodeResult r) {
  switch (r) {
    case DecodeResult::Ok: return 0;
    case DecodeResult::NoMetadata: return -ENODATA;
    case DecodeResult::UnsupportedVersion: return -EPROTONOSUPPORT;
    case DecodeResult::ChecksumMismatch: return -EBADMSG;
    case DecodeResult::Insane: return -EUCLEAN;
  }
  return -EINVAL;
}

int sync_fd(int fd, std::string* error) {
  if (::fdatasync(fd) != 0) {
    int e = errno;
    *error = fmt::format("fdatasync of the metadata failed: {}", std::strerror(e));
    return -e;
  }
  return 0;
}

}  // namespace

int pread_full(int fd, void* buf, size_t len, uint64_t offset_bytes, std::string* error) {
  auto* p = static_cast<uint8_t*>(buf);
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, p + done, len - done, off_t(offset_bytes + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      *error = fmt::format("reading {} bytes at offset {} failed: {}", len, offset_bytes, std::strerror(e));
      return -e;
    }
    if (n == 0) {
      *error = fmt::format("reading {} bytes at offset {}: unexpected end of file after {} bytes", len,
                           offset_bytes, done);
      return -EIO;
    }
    done += size_t(n);
  }
  return 0;
}

int pwrite_full(int fd, const void* buf, size_t len, uint64_t offset_bytes, std::string* error) {
  const auto* p = static_cast<const uint8_t*>(buf);
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pwrite(fd, p + done, len - done, off_t(offset_bytes + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      *error = fmt::format("writing {} bytes at offset {} failed: {}", len, offset_bytes, std::strerror(e));
      return -e;
    }
    done += size_t(n);
  }
  return 0;
}

int read_superblock(int fd, uint64_t sb_offset_bytes, Superblock* sb, std::string* error, DecodeResult* result) {
  uint8_t block[kSuperblockSizeBytes];
  if (result) *result = DecodeResult::Ok;
  int rc = pread_full(fd, block, sizeof block, sb_offset_bytes, error);
  if (rc != 0) return rc;
  DecodeResult r = decode(block, sb, error);
  if (result) *result = r;
  if (r != DecodeResult::Ok) *error = fmt::format("{} (superblock at offset {})", *error, sb_offset_bytes);
  return errno_for(r);
}

int write_superblock(int fd, uint64_t sb_offset_bytes, Superblock* sb, std::string* error) {
  sb->write_sequence++;
  sb->format_version = kFormatVersion;  // encode() writes this version whatever the struct said.
  // Check before writing: an impossible superblock is a bug upstream, refuse to persist it.
  std::string why = validate(*sb);
  if (!why.empty()) {
    *error = "refusing to write a metadata superblock with impossible values: " + why;
    return -EUCLEAN;
  }
  uint8_t block[kSuperblockSizeBytes];
  encode(*sb, block);
  Superblock check;
  std::string decode_error;
  // Encoder and decoder must agree; if not, the in-memory state can't be trusted.
  TANDEM_CHECK(decode(block, &check, &decode_error) == DecodeResult::Ok);
  TANDEM_CHECK(check == *sb);
  int rc = pwrite_full(fd, block, sizeof block, sb_offset_bytes, error);
  if (rc == 0) rc = sync_fd(fd, error);
  if (rc != 0) return rc;
  // Check after reading: catches devices that drop or misplace writes.
  uint8_t back[kSuperblockSizeBytes];
  rc = pread_full(fd, back, sizeof back, sb_offset_bytes, error);
  if (rc != 0) return rc;
  if (std::memcmp(block, back, sizeof block) != 0) {
    *error = fmt::format("the metadata superblock read back at offset {} differs from what was just written",
                         sb_offset_bytes);
    return -EIO;
  }
  return 0;
}

int read_bitmap(int fd, const Layout& layout, std::vector<uint64_t>* words, std::string* error) {
  TANDEM_CHECK(layout.bm_size_bytes % 8 == 0);
  words->assign(layout.bm_size_bytes / 8, 0);
  std::vector<uint8_t> chunk(std::min<uint64_t>(kChunkBytes, layout.bm_size_bytes));
  for (uint64_t done = 0; done < layout.bm_size_bytes;) {
    size_t n = size_t(std::min<uint64_t>(chunk.size(), layout.bm_size_bytes - done));
    int rc = pread_full(fd, chunk.data(), n, layout.bm_offset_bytes + done, error);
    if (rc != 0) {
      *error = "reading the bitmap: " + *error;
      return rc;
    }
    for (size_t i = 0; i < n; i += 8) (*words)[(done + i) / 8] = get_le64(chunk.data() + i);
    done += n;
  }
  return 0;
}

int write_bitmap(int fd, const Layout& layout, const std::vector<uint64_t>& words, std::string* error) {
  if (words.size() * 8 != layout.bm_size_bytes) {
    *error = fmt::format("bitmap of {} words does not match the bitmap area of {} bytes", words.size(),
                         layout.bm_size_bytes);
    return -EINVAL;
  }
  std::vector<uint8_t> chunk(std::min<uint64_t>(kChunkBytes, layout.bm_size_bytes));
  for (uint64_t done = 0; done < layout.bm_size_bytes;) {
    size_t n = size_t(std::min<uint64_t>(chunk.size(), layout.bm_size_bytes - done));
    for (size_t i = 0; i < n; i += 8) put_le64(chunk.data() + i, words[(done + i) / 8]);
    int rc = pwrite_full(fd, chunk.data(), n, layout.bm_offset_bytes + done, error);
    if (rc != 0) {
      *error = "writing the bitmap: " + *error;
      return rc;
    }
    done += n;
  }
  return sync_fd(fd, error);
}

int write_bitmap_words(int fd, const Layout& layout, const std::vector<uint64_t>& words, uint64_t first_word,
                       uint64_t n_words, std::string* error) {
  constexpr uint64_t kPageWords = kAlignBytes / 8;
  const uint64_t area_words = layout.bm_size_bytes / 8;
  if (n_words == 0) return 0;
  uint64_t first_page = first_word / kPageWords;
  uint64_t end_page = std::min((first_word + n_words + kPageWords - 1) / kPageWords, area_words / kPageWords);
  std::vector<uint8_t> page(kAlignBytes);
  for (uint64_t p = first_page; p < end_page; p++) {
    for (uint64_t i = 0; i < kPageWords; i++) {
      uint64_t w = p * kPageWords + i;
      put_le64(page.data() + 8 * i, w < words.size() ? words[w] : 0);
    }
    int rc = pwrite_full(fd, page.data(), page.size(), layout.bm_offset_bytes + p * kAlignBytes, error);
    if (rc != 0) {
      *error = "writing the bitmap: " + *error;
      return rc;
    }
  }
  return sync_fd(fd, error);
}

int read_al_ring(int fd, const Layout& layout, std::vector<uint8_t>* ring, std::string* error) {
  if (layout.al_size_bytes != kAlAreaSizeBytes) {
    *error = fmt::format("activity-log area of {} bytes (expected {})", layout.al_size_bytes, kAlAreaSizeBytes);
    return -EUCLEAN;
  }
  ring->assign(kAlAreaSizeBytes, 0);
  int rc = pread_full(fd, ring->data(), ring->size(), layout.al_offset_bytes, error);
  if (rc != 0) *error = "reading the activity log: " + *error;
  return rc;
}

int write_al_slot(int fd, const Layout& layout, uint32_t slot, const uint8_t* block, std::string* error) {
  TANDEM_CHECK(slot < kAlSlots && layout.al_size_bytes == kAlAreaSizeBytes);
  int rc = pwrite_full(fd, block, kAlSlotBytes, layout.al_offset_bytes + uint64_t(slot) * kAlSlotBytes, error);
  if (rc != 0) {
    *error = "writing the activity log: " + *error;
    return rc;
  }
  return sync_fd(fd, error);
}

int zero_region(int fd, uint64_t offset_bytes, uint64_t size_bytes, std::string* error) {
  std::vector<uint8_t> zeros(std::min<uint64_t>(kChunkBytes, size_bytes), 0);
  for (uint64_t done = 0; done < size_bytes;) {
    size_t n = size_t(std::min<uint64_t>(zeros.size(), size_bytes - done));
    int rc = pwrite_full(fd, zeros.data(), n, offset_bytes + done, error);
    if (rc != 0) return rc;
    done += n;
  }
  return sync_fd(fd, error);
}

int zero_al(int fd, const Layout& layout, std::string* error) {
  int rc = zero_region(fd, layout.al_offset_bytes, layout.al_size_bytes, error);
  if (rc != 0) *error = "zeroing the activity log: " + *error;
  return rc;
}

}  // namespace tandem::meta
