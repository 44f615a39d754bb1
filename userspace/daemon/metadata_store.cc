#include "daemon/metadata_store.h"

#include <fmt/format.h>

#include "meta/format.h"
#include "meta/metadata_file.h"

namespace tandem {

bool MetadataStore::open(const meta::MdPaths& paths, uint32_t node_id, uint32_t peer_node_id, std::string* error) {
  if (meta::open_md(paths, true, &md_, error) != 0) return false;
  if (md_.sb.node_id != node_id || md_.sb.peer_node_id != peer_node_id) {
    *error = fmt::format(
        "metadata on {} was created for node-id {} with peer {}, but the config says node-id {} with peer {}; "
        "re-run create-md or fix the config",
        paths.md_path(), md_.sb.node_id, md_.sb.peer_node_id, node_id, peer_node_id);
    return false;
  }
  return true;
}

bool MetadataStore::was_clean_shutdown() const { return md_.sb.has(meta::kFlagCleanShutdown); }

PersistentState MetadataStore::load_state() const {
  const meta::Superblock& sb = md_.sb;
  PersistentState s;
  s.ids.current = sb.current_uuid;
  s.ids.bitmap = sb.bitmap_uuid;
  for (size_t i = 0; i < s.ids.history.size() && i < sb.history_uuids.size(); i++) s.ids.history[i] = sb.history_uuids[i];
  s.consistent = sb.has(meta::kFlagConsistent);
  s.was_up_to_date = sb.has(meta::kFlagWasUpToDate);
  s.primary = sb.has(meta::kFlagPrimaryInd);
  s.crashed_primary = sb.has(meta::kFlagCrashedPrimary);
  s.peer_outdated = sb.has(meta::kFlagPeerOutdated);
  s.needs_full_sync = sb.has(meta::kFlagFullSync);
  s.primary_at_split = sb.has(meta::kFlagPrimaryAtSplit);
  return s;
}

bool MetadataStore::load_bitmap(DirtyBitmap* bitmap, std::string* error) {
  std::vector<uint64_t> words;
  if (meta::read_bitmap(md_.md_fd.get(), md_.layout, &words, error) != 0) return false;
  if (!bitmap->load_words(words)) {
    *error = "bitmap area is smaller than the data size needs";
    return false;
  }
  return true;
}

bool MetadataStore::save_state(const PersistentState& s, bool running, std::string* error) {
  meta::Superblock sb = md_.sb;
  sb.current_uuid = s.ids.current;
  sb.bitmap_uuid = s.ids.bitmap;
  for (size_t i = 0; i < s.ids.history.size() && i < sb.history_uuids.size(); i++) sb.history_uuids[i] = s.ids.history[i];
  uint32_t f = 0;
  if (s.consistent) f |= meta::kFlagConsistent;
  if (s.was_up_to_date) f |= meta::kFlagWasUpToDate;
  if (s.primary) f |= meta::kFlagPrimaryInd;
  if (s.crashed_primary) f |= meta::kFlagCrashedPrimary;
  if (s.peer_outdated) f |= meta::kFlagPeerOutdated;
  if (s.needs_full_sync) f |= meta::kFlagFullSync;
  if (s.primary_at_split) f |= meta::kFlagPrimaryAtSplit;
  if (!running) f |= meta::kFlagCleanShutdown;
  if (al_on_) f |= meta::kFlagActivityLog;
  sb.flags = f;
  if (meta::write_superblock(md_.md_fd.get(), md_.layout.sb_offset_bytes, &sb, error) != 0) return false;
  md_.sb = sb;
  return true;
}

bool MetadataStore::save_bitmap(const DirtyBitmap& bitmap, std::string* error) {
  std::vector<uint64_t> words(md_.layout.bm_size_bytes / 8, 0);
  const auto& w = bitmap.words();
  for (size_t i = 0; i < w.size() && i < words.size(); i++) words[i] = w[i];
  return meta::write_bitmap(md_.md_fd.get(), md_.layout, words, error) == 0;
}

bool MetadataStore::save_bitmap_range(const DirtyBitmap& bitmap, uint64_t first_block, uint64_t blocks,
                                      std::string* error) {
  if (blocks == 0) return true;
  uint64_t first_word = first_block / 64, end_word = (first_block + blocks + 63) / 64;
  return meta::write_bitmap_words(md_.md_fd.get(), md_.layout, bitmap.words(), first_word, end_word - first_word,
                                  error) == 0;
}

bool MetadataStore::load_al(AlOnDisk* al, std::string* error) {
  std::vector<uint8_t> ring;
  if (meta::read_al_ring(md_.md_fd.get(), md_.layout, &ring, error) != 0) return false;
  al->kept = md_.sb.has(meta::kFlagActivityLog);
  al->ring = meta::recover_al(ring);
  return true;
}

bool MetadataStore::write_al(const meta::AlTransaction& tx, std::string* error) {
  uint8_t block[meta::kAlSlotBytes];
  meta::encode_al_slot(tx, block);
  return meta::write_al_slot(md_.md_fd.get(), md_.layout, static_cast<uint32_t>(tx.seq % meta::kAlSlots), block,
                             error) == 0;
}

void MetadataStore::encode_al(const meta::AlTransaction& tx, uint8_t block[meta::kAlSlotBytes],
                              uint64_t* offset) const {
  meta::encode_al_slot(tx, block);
  *offset = md_.layout.al_offset_bytes + (tx.seq % meta::kAlSlots) * meta::kAlSlotBytes;
}

}  // namespace tandem
