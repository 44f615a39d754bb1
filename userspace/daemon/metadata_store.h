// The daemon's view of its metadata: converts between the superblock and the core's PersistentState, and
// saves the dirty bitmap. The only writer of the metadata while the daemon runs (loop thread only).
#pragma once

#include <string>
#include <vector>

#include "core/attach.h"
#include "core/dirty_bitmap.h"
#include "core/effects.h"
#include "meta/md_device.h"

namespace tandem {

class MetadataStore {
 public:
  // Opens and verifies the metadata. Fails (false + message) when it is missing, damaged or does not match
  // the configured node ids.
  bool open(const meta::MdPaths& paths, uint32_t node_id, uint32_t peer_node_id, std::string* error);

  uint64_t data_size_bytes() const { return md_.layout.data_size_bytes; }
  bool was_clean_shutdown() const;
  PersistentState load_state() const;
  bool load_bitmap(DirtyBitmap* bitmap, std::string* error);

  // Writes the state; `running` keeps CleanShutdown cleared. Returns false with a message on I/O failure.
  bool save_state(const PersistentState& s, bool running, std::string* error);
  bool save_bitmap(const DirtyBitmap& bitmap, std::string* error);
  // Only the 4 KiB bitmap pages holding blocks [first_block, first_block + blocks).
  bool save_bitmap_range(const DirtyBitmap& bitmap, uint64_t first_block, uint64_t blocks, std::string* error);

  // Activity log: what the previous run left, and writing this run's transactions. Once
  // set_activity_log(true) is called, every superblock written says the AL is kept (kFlagActivityLog).
  bool load_al(AlOnDisk* al, std::string* error);
  bool write_al(const meta::AlTransaction& tx, std::string* error);
  // For writing a transaction elsewhere (DsyncWriter): its encoded ring slot and where it goes on md_fd().
  void encode_al(const meta::AlTransaction& tx, uint8_t block[meta::kAlSlotBytes], uint64_t* offset) const;
  int md_fd() const { return md_.md_fd.get(); }
  void set_activity_log(bool on) { al_on_ = on; }
  const meta::Superblock& superblock() const { return md_.sb; }

 private:
  meta::OpenMd md_;
  bool al_on_ = false;
};

}  // namespace tandem
