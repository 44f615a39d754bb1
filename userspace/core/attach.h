// What a node's stored state means when its daemon starts ("attach"). Shared by the daemon and the simulator
// so both apply exactly the same rules.
#pragma once

#include <string>
#include <vector>

#include "core/effects.h"
#include "meta/al_ring.h"

namespace tandem {

// The activity log as found on disk at attach.
struct AlOnDisk {
  bool kept = false;         // the previous run kept the AL and the on-disk bitmap up to date (superblock flag)
  meta::AlRecovery ring;     // what the ring holds (recover_al)
};

struct AttachPlan {
  PersistentState state;              // to construct the Replica with
  bool mark_all_out_of_sync = false;  // the stored bitmap cannot be trusted and no activity log bounds it
  std::vector<uint32_t> mark_extents; // activity-log extents to mark out of sync (on top of the stored bitmap)
  std::string note;                   // what was decided about the activity log, for the log ("" = nothing)
};

// `clean_shutdown`: the metadata says the previous daemon stopped cleanly (it saved its bitmap).
// - A node still marked Primary after an unclean stop crashed as Primary: writes it had in flight may exist
//   on one side only.
// - A Secondary that stopped uncleanly may have lost writes it had acknowledged from its disk's volatile
//   cache: it needs a full sync as target next time (there is no activity log on a Secondary).
// - If the previous run kept the activity log (and the ring reads back intact), the stored bitmap plus the
//   AL's extents cover every block that may differ from the peer: those extents are marked, and the resync
//   after the crash is bounded by al-extents × 4 MiB plus what the bitmap already held.
// - Otherwise the in-memory bitmap of the unclean run is lost: if this node was tracking changes for its peer
//   (bitmap UUID set), was Primary, or still carries an unresolved crash as Primary, every block counts as out
//   of sync.
AttachPlan plan_attach(const PersistentState& stored, bool clean_shutdown, const AlOnDisk& al = {});

}  // namespace tandem
