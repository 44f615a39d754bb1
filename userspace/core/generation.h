// Generation identifiers (DRBD's "UUIDs") and the decision taken when two nodes connect.
//
// Each node keeps a current UUID (identifies the data generation it holds), a bitmap UUID (the generation the
// peer had when this node started tracking changes for it in the dirty bitmap; 0 when not tracking) and a
// short history of older generations. Comparing both sides' identifiers at connect tells whether the data is
// the same, which side is newer and whether the bitmap suffices — or whether both sides diverged (split brain)
// or never shared data (unrelated). Rules after DRBD's drbd_uuid_compare(), see docs/states.md.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/states.h"
#include "wire/protocol.h"

namespace tandem {

inline constexpr uint64_t kUuidJustCreated = 4;  // DRBD's value for freshly created metadata.

struct GenerationIds {
  uint64_t current = kUuidJustCreated;
  uint64_t bitmap = 0;
  std::array<uint64_t, wire::kHistoryUuids> history{};

  // Start a new data generation because this node writes without its peer: the old current generation is what
  // the peer still has, so it becomes the bitmap UUID (if not already tracking), else goes to history.
  void start_new_generation(uint64_t fresh_uuid);
  // Resync finished as source: the peer now has our current generation; stop tracking.
  void forget_bitmap();
  void push_history(uint64_t uuid);
  bool in_history(uint64_t uuid) const;
};

struct NodeView {
  GenerationIds ids;
  DiskState disk = DiskState::Inconsistent;
  Role role = Role::Secondary;
  bool crashed_primary = false;
  bool needs_full_sync = false;  // crashed as Secondary: only a full sync as target can be trusted
  uint32_t node_id = 0;
};

enum class SyncDecision {
  None,            // same data (or nothing usable on either side): no resync
  SourceBitmap,    // local node is the sync source; copy the blocks in its bitmap
  SourceFull,      // local node is the sync source; copy everything
  TargetBitmap,    // local node is the sync target (bitmap-based)
  TargetFull,      // local node is the sync target (full)
  SplitBrain,      // both sides have data the other lacks
  Unrelated,       // no common generation: refuse to connect
};

std::string_view to_string(SyncDecision d);
bool is_source(SyncDecision d);
bool is_target(SyncDecision d);

// Pure and symmetric: decide(a, b) is the mirror image of decide(b, a). `why` explains the decision for logs.
SyncDecision decide_sync(const NodeView& local, const NodeView& peer, std::string* why);

}  // namespace tandem
