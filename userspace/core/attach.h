// What a node's stored state means when its daemon starts ("attach"). Shared by the daemon and the simulator
// so both apply exactly the same rules.
#pragma once

#include "core/effects.h"

namespace tandem {

struct AttachPlan {
  PersistentState state;              // to construct the Replica with
  bool mark_all_out_of_sync = false;  // the stored bitmap cannot be trusted
};

// `clean_shutdown`: the metadata says the previous daemon stopped cleanly (it saved its bitmap).
// - A node still marked Primary after an unclean stop crashed as Primary: writes it had in flight may exist
//   on one side only.
// - A Secondary that stopped uncleanly may have lost writes it had acknowledged from its disk's volatile
//   cache: it needs a full sync as target next time (an activity log will bound this later).
// - The in-memory bitmap of an unclean run is lost: if this node was tracking changes for its peer (bitmap
//   UUID set), was Primary, or still carries an unresolved crash as Primary, every block counts as out of sync.
AttachPlan plan_attach(const PersistentState& stored, bool clean_shutdown);

}  // namespace tandem
