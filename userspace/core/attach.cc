#include "core/attach.h"

namespace tandem {

AttachPlan plan_attach(const PersistentState& stored, bool clean_shutdown) {
  AttachPlan p;
  p.state = stored;
  if (!clean_shutdown) {
    if (stored.primary) p.state.crashed_primary = true;
    else p.state.needs_full_sync = true;
    // crashed_primary too: a crashed Primary restarted once (primary no longer set) and crashed again before
    // its resync still has changes the peer lacks that no saved bitmap records.
    p.mark_all_out_of_sync = stored.ids.bitmap != 0 || stored.primary || stored.crashed_primary;
  }
  return p;
}

}  // namespace tandem
