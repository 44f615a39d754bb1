// The dirty ("out of sync") bitmap for one peer: one bit per 4 KiB block of the data area.
// A set bit means the block may differ on the peer and must be copied by the next resync.
// Invariant: bits beyond the last block are always zero (so count() is exact).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tandem {

class DirtyBitmap {
 public:
  static constexpr uint32_t kBlockBytes = 4096;

  explicit DirtyBitmap(uint64_t data_size_bytes = 0);

  uint64_t blocks() const { return blocks_; }
  // Marks/clears every block touched by [offset, offset+length).
  void set_range(uint64_t offset, uint64_t length);
  // Clears only blocks fully covered by the range (a partially covered block may still differ).
  void clear_range(uint64_t offset, uint64_t length);
  void set_all();
  void clear_all();
  bool test(uint64_t block) const;
  // True if any block in [first_block, first_block + blocks) is set (the range is clipped to the bitmap).
  bool any_in(uint64_t first_block, uint64_t blocks) const;
  // ORs in another node's bitmap words starting at word `first_word` (bits beyond the last block ignored).
  void merge_words(uint64_t first_word, const uint64_t* words, size_t count);
  uint64_t count() const { return count_; }
  uint64_t dirty_bytes() const { return count_ * kBlockBytes; }

  // Finds the first run of set bits at or after `from_block`, at most `max_blocks` long.
  // Returns false when there is none.
  bool next_run(uint64_t from_block, uint32_t max_blocks, uint64_t* start_block, uint32_t* run_blocks) const;

  // Raw words for persistence (little-endian conversion happens in meta/).
  const std::vector<uint64_t>& words() const { return words_; }
  // Loads words; bits beyond the last block are dropped. Returns false if the size does not match.
  bool load_words(const std::vector<uint64_t>& words);

 private:
  void set_bit(uint64_t b);
  void clear_bit(uint64_t b);

  uint64_t blocks_ = 0;
  uint64_t count_ = 0;
  std::vector<uint64_t> words_;
};

}  // namespace tandem
