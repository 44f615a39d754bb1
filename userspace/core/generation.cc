#include "core/generation.h"

#include <fmt/format.h>

namespace tandem {

void GenerationIds::push_history(uint64_t uuid) {
  if (uuid == 0 || uuid == kUuidJustCreated) return;
  for (size_t i = history.size() - 1; i > 0; i--) history[i] = history[i - 1];
  history[0] = uuid;
}

bool GenerationIds::in_history(uint64_t uuid) const {
  if (uuid == 0) return false;
  for (uint64_t h : history)
    if (h == uuid) return true;
  return false;
}

void GenerationIds::start_new_generation(uint64_t fresh_uuid) {
  if (bitmap == 0)
    bitmap = current;
  else
    push_history(current);
  current = fresh_uuid;
}

void GenerationIds::forget_bitmap() {
  push_history(bitmap);
  bitmap = 0;
}

std::string_view to_string(SyncDecision d) {
  switch (d) {
    case SyncDecision::None: return "no-sync";
    case SyncDecision::SourceBitmap: return "sync-source(bitmap)";
    case SyncDecision::SourceFull: return "sync-source(full)";
    case SyncDecision::TargetBitmap: return "sync-target(bitmap)";
    case SyncDecision::TargetFull: return "sync-target(full)";
    case SyncDecision::SplitBrain: return "split-brain";
    case SyncDecision::Unrelated: return "unrelated-data";
  }
  return "?";
}

bool is_source(SyncDecision d) { return d == SyncDecision::SourceBitmap || d == SyncDecision::SourceFull; }
bool is_target(SyncDecision d) { return d == SyncDecision::TargetBitmap || d == SyncDecision::TargetFull; }

namespace {

SyncDecision mirror(SyncDecision d) {
  switch (d) {
    case SyncDecision::SourceBitmap: return SyncDecision::TargetBitmap;
    case SyncDecision::SourceFull: return SyncDecision::TargetFull;
    case SyncDecision::TargetBitmap: return SyncDecision::SourceBitmap;
    case SyncDecision::TargetFull: return SyncDecision::SourceFull;
    default: return d;
  }
}

bool usable(DiskState d) { return d >= DiskState::Outdated && d != DiskState::DUnknown; }

// Decision from the viewpoint of `a`, where `a` is the node with the lower node id, so that both nodes
// evaluate the rules in the same order and reach mirrored answers.
SyncDecision decide_ordered(const NodeView& a, const NodeView& b, std::string* why) {
  const GenerationIds& ia = a.ids;
  const GenerationIds& ib = b.ids;
  bool ua = usable(a.disk), ub = usable(b.disk);
  if (!ua && !ub) {
    *why = "neither node has usable data (both Inconsistent); waiting for one to be made UpToDate";
    return SyncDecision::None;
  }
  if (ua != ub) {
    // Exactly one side has usable data: it is the source. The bitmap suffices only if the target still holds
    // the generation the source started tracking from. A target that crashed as Primary has extra writes the
    // source never saw: they lie in its activity-log extents, marked in its bitmap at restart (or it marked
    // everything, when its AL could not be trusted), and the bitmap exchange brings them to the source.
    const NodeView& src = ua ? a : b;
    const NodeView& tgt = ua ? b : a;
    bool bitmap_ok = src.ids.bitmap != 0 && tgt.ids.current == src.ids.bitmap && !tgt.needs_full_sync &&
                     !src.needs_full_sync;
    *why = fmt::format("node {} has usable data, node {} is {}; {} resync", src.node_id, tgt.node_id,
                       to_string(tgt.disk), bitmap_ok ? "bitmap-based" : "full");
    SyncDecision d = bitmap_ok ? SyncDecision::SourceBitmap : SyncDecision::SourceFull;
    return ua ? d : mirror(d);
  }
  if (ia.current == ib.current) {
    if (a.crashed_primary || b.crashed_primary) {
      // Writes that were in flight when the Primary crashed may be on one side only. They lie in its
      // activity-log extents, which it marked out of sync at restart (everything, when its AL could not be
      // trusted): copy those blocks from it. A node that also stopped uncleanly as Secondary needs everything.
      bool a_src = a.crashed_primary;
      bool full = a.needs_full_sync || b.needs_full_sync;
      *why = fmt::format("same generation, but node {} crashed while Primary: {} resync from it",
                         a_src ? a.node_id : b.node_id, full ? "full" : "activity-log (bitmap-based)");
      if (a_src) return full ? SyncDecision::SourceFull : SyncDecision::SourceBitmap;
      return full ? SyncDecision::TargetFull : SyncDecision::TargetBitmap;
    }
    if (a.needs_full_sync || b.needs_full_sync) {
      // A Secondary that crashed may have lost acknowledged writes from its volatile disk cache. If both did,
      // their copies may differ anywhere: the lower node id (`a`) is the source, arbitrarily but on both sides
      // alike.
      bool a_src = b.needs_full_sync;
      *why = fmt::format("same generation, but node {} stopped uncleanly as Secondary: full resync to it",
                         a_src ? b.node_id : a.node_id);
      return a_src ? SyncDecision::SourceFull : SyncDecision::TargetFull;
    }
    *why = "both nodes hold the same data generation";
    return SyncDecision::None;
  }
  // A crashed Primary as target is fine here too: its bitmap (activity-log extents) joins the source's.
  if (ib.bitmap != 0 && ia.current == ib.bitmap) {
    bool full = a.needs_full_sync || b.needs_full_sync;
    *why = fmt::format("node {} holds the generation node {} tracked changes from: {}", a.node_id, b.node_id,
                       full ? "but a node stopped uncleanly, so a full resync" : "bitmap-based resync");
    return full ? SyncDecision::TargetFull : SyncDecision::TargetBitmap;
  }
  if (ia.bitmap != 0 && ib.current == ia.bitmap) {
    bool full = b.needs_full_sync || a.needs_full_sync;
    *why = fmt::format("node {} holds the generation node {} tracked changes from: {}", b.node_id, a.node_id,
                       full ? "but a node stopped uncleanly, so a full resync" : "bitmap-based resync");
    return full ? SyncDecision::SourceFull : SyncDecision::SourceBitmap;
  }
  if (ib.in_history(ia.current)) {
    *why = fmt::format("node {}'s generation is an ancestor of node {}'s: full resync", a.node_id, b.node_id);
    return SyncDecision::TargetFull;
  }
  if (ia.in_history(ib.current)) {
    *why = fmt::format("node {}'s generation is an ancestor of node {}'s: full resync", b.node_id, a.node_id);
    return SyncDecision::SourceFull;
  }
  if (ia.bitmap != 0 && ia.bitmap == ib.bitmap) {
    *why = "both nodes started new generations from the same one: both wrote while apart";
    return SyncDecision::SplitBrain;
  }
  for (uint64_t h : ia.history) {
    if (h != 0 && (ib.in_history(h) || h == ib.bitmap)) {
      *why = "the generations share an ancestor but both moved on: both wrote while apart";
      return SyncDecision::SplitBrain;
    }
  }
  if (ia.bitmap != 0 && ib.in_history(ia.bitmap)) {
    *why = "the generations share an ancestor but both moved on: both wrote while apart";
    return SyncDecision::SplitBrain;
  }
  *why = fmt::format("no common generation (current {:016X} vs {:016X}): the data is unrelated", ia.current,
                     ib.current);
  return SyncDecision::Unrelated;
}

}  // namespace

SyncDecision decide_sync(const NodeView& local, const NodeView& peer, std::string* why) {
  if (local.node_id <= peer.node_id) return decide_ordered(local, peer, why);
  return mirror(decide_ordered(peer, local, why));
}

}  // namespace tandem
