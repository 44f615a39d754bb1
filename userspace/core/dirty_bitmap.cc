#include "core/dirty_bitmap.h"

#include <algorithm>
#include <bit>

#include "common/check.h"

namespace tandem {

DirtyBitmap::DirtyBitmap(uint64_t data_size_bytes)
    : blocks_((data_size_bytes + kBlockBytes - 1) / kBlockBytes), words_((blocks_ + 63) / 64, 0) {}

void DirtyBitmap::set_bit(uint64_t b) {
  uint64_t& w = words_[b / 64];
  uint64_t m = 1ULL << (b % 64);
  if (!(w & m)) {
    w |= m;
    count_++;
  }
}

void DirtyBitmap::clear_bit(uint64_t b) {
  uint64_t& w = words_[b / 64];
  uint64_t m = 1ULL << (b % 64);
  if (w & m) {
    w &= ~m;
    count_--;
  }
}

bool DirtyBitmap::test(uint64_t block) const {
  TANDEM_CHECK(block < blocks_);
  return words_[block / 64] & (1ULL << (block % 64));
}

bool DirtyBitmap::any_in(uint64_t first_block, uint64_t blocks) const {
  uint64_t start, end = std::min(blocks_, first_block + blocks);
  uint32_t run;
  return first_block < end && next_run(first_block, 1, &start, &run) && start < end;
}

void DirtyBitmap::merge_words(uint64_t first_word, const uint64_t* words, size_t count) {
  for (size_t i = 0; i < count && first_word + i < words_.size(); i++) {
    uint64_t w = words[i];
    while (w) {
      uint64_t b = (first_word + i) * 64 + static_cast<uint64_t>(std::countr_zero(w));
      w &= w - 1;
      if (b < blocks_) set_bit(b);
    }
  }
}

void DirtyBitmap::set_range(uint64_t offset, uint64_t length) {
  if (length == 0) return;
  uint64_t first = offset / kBlockBytes;
  uint64_t last = (offset + length - 1) / kBlockBytes;
  TANDEM_CHECK(last < blocks_);
  for (uint64_t b = first; b <= last; b++) set_bit(b);
}

void DirtyBitmap::clear_range(uint64_t offset, uint64_t length) {
  uint64_t first = (offset + kBlockBytes - 1) / kBlockBytes;
  uint64_t end = (offset + length) / kBlockBytes;
  for (uint64_t b = first; b < end && b < blocks_; b++) clear_bit(b);
}

void DirtyBitmap::set_all() {
  for (uint64_t b = 0; b < blocks_; b++) set_bit(b);
}

void DirtyBitmap::clear_all() {
  for (auto& w : words_) w = 0;
  count_ = 0;
}

bool DirtyBitmap::next_run(uint64_t from_block, uint32_t max_blocks, uint64_t* start_block,
                           uint32_t* run_blocks) const {
  uint64_t b = from_block;
  while (b < blocks_) {
    uint64_t w = words_[b / 64] >> (b % 64);
    if (w == 0) {
      b = (b / 64 + 1) * 64;
      continue;
    }
    b += std::countr_zero(w);
    break;
  }
  if (b >= blocks_) return false;
  uint32_t n = 0;
  while (b + n < blocks_ && n < max_blocks && test(b + n)) n++;
  *start_block = b;
  *run_blocks = n;
  return true;
}

bool DirtyBitmap::load_words(const std::vector<uint64_t>& words) {
  if (words.size() < words_.size()) return false;
  clear_all();
  for (uint64_t b = 0; b < blocks_; b++)
    if (words[b / 64] & (1ULL << (b % 64))) set_bit(b);
  return true;
}

}  // namespace tandem
