// The simulator's model of what each node's data should hold, independent of the replication core.
//
// Block contents are "versions": every application write gives each 4 KiB block it covers a fresh version id
// (increasing with issue order) and fills it with a pattern derived from that id (version 0 = zeroes, the
// initial disk). A node's block may legitimately hold any version in its candidate list that is >= `floor`:
// - issue: a new version may land on either node (by mirroring or by a later resync);
// - ack on the node's disk (local completion, or the peer's WriteAck under protocol C): floor = version, since
//   the core orders overlapping writes, nothing older may show up again;
// - durability (FUA ack, or a completed flush issued after the ack): dfloor = version;
// - crash of the node: floor = dfloor (unsynced writes may be lost);
// - resync finished: the target may hold exactly what the source may hold.
// Generations: a tree of data lineages for the split-brain checker. A node forks a new lineage when it holds
// the Primary role while not connected (as DRBD and the core start a new generation then); two nodes with
// usable data whose lineages are not ancestor/descendant of each other have diverged.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tandem::sim {

inline constexpr uint32_t kBlockBytes = 4096;

void fill_block(uint64_t version, uint8_t* out);
uint64_t block_version(const uint8_t* block);
bool block_matches(uint64_t version, const uint8_t* block);

class DataModel {
 public:
  explicit DataModel(uint64_t blocks = 0) : blocks_(blocks) {}

  uint64_t blocks() const { return blocks_.size(); }
  void issue(uint64_t b, uint64_t version) { blocks_[b].versions.push_back(version); }
  void acked(uint64_t b, uint64_t version, bool durable);
  std::vector<uint64_t> floors() const;
  // A flush completed that covered every ack recorded when `floors_at_submit` was taken.
  void flushed(const std::vector<uint64_t>& floors_at_submit);
  void crashed();
  // Resync finished: the block holds what the source could hold when it sent SyncDone (`source`), or a
  // version issued after that (mirrored while the resync ended).
  void sync_from(const DataModel& source, uint64_t max_version_at_snapshot);
  // Forget everything: block b holds exactly one of `versions` (forced promotion, re-created metadata).
  void reset_block(uint64_t b, const std::vector<uint64_t>& versions);
  bool allows(uint64_t b, uint64_t version) const;
  std::vector<uint64_t> allowed(uint64_t b) const;
  std::string describe(uint64_t b) const;

 private:
  struct Block {
    std::vector<uint64_t> versions{0};
    uint64_t floor = 0;   // oldest version that may be visible
    uint64_t dfloor = 0;  // oldest version that may survive a crash
  };
  void prune(Block& k);
  std::vector<Block> blocks_;
};

class GenTree {
 public:
  static constexpr int kRoot = 0;  // freshly created metadata: no data yet
  int fork(int parent);
  bool ancestor_or_equal(int a, int b) const;  // a is b or an ancestor of b
  int lca(int a, int b) const;
  void note_write(int g) { writes_[g]++; }
  // Writes issued in lineages strictly below `ancestor` on the way to `g`.
  uint64_t writes_since(int ancestor, int g) const;
  int parent(int g) const { return parent_[g]; }

 private:
  std::vector<int> parent_{-1};
  std::vector<uint64_t> writes_{0};
};

}  // namespace tandem::sim
