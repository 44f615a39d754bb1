#include "core/attach.h"

#include <fmt/format.h>

namespace tandem {

AttachPlan plan_attach(const PersistentState& stored, bool clean_shutdown, const AlOnDisk& al) {
  AttachPlan p;
  p.state = stored;
  if (clean_shutdown) return p;
  if (stored.primary) p.state.crashed_primary = true;
  else p.state.needs_full_sync = true;
  if (al.kept && al.ring.ok) {
    p.mark_extents = al.ring.extents;
    p.note = fmt::format("activity log: {} extent{} marked out of sync (transaction {}){}", al.ring.extents.size(),
                         al.ring.extents.size() == 1 ? "" : "s", al.ring.last_seq,
                         al.ring.problem.empty() ? "" : "; " + al.ring.problem);
    return p;
  }
  // crashed_primary too: a crashed Primary restarted once (primary no longer set) and crashed again before
  // its resync still has changes the peer lacks that no saved bitmap records.
  p.mark_all_out_of_sync = stored.ids.bitmap != 0 || stored.primary || stored.crashed_primary;
  if (al.kept)
    p.note = fmt::format("the activity log cannot be trusted ({}){}", al.ring.problem,
                         p.mark_all_out_of_sync ? ": every block is out of sync" : "");
  return p;
}

}  // namespace tandem
