#include "core/split_brain.h"

#include <fmt/format.h>

namespace tandem {

bool parse_after_sb_0pri(std::string_view v, AfterSb0* out, std::string* node_name) {
  if (v == "disconnect") *out = AfterSb0::Disconnect;
  else if (v == "discard-younger-primary") *out = AfterSb0::DiscardYoungerPrimary;
  else if (v == "discard-older-primary") *out = AfterSb0::DiscardOlderPrimary;
  else if (v == "discard-zero-changes") *out = AfterSb0::DiscardZeroChanges;
  else if (v == "discard-least-changes") *out = AfterSb0::DiscardLeastChanges;
  else if (v.starts_with("discard-node-") && v.size() > 13) {
    *out = AfterSb0::DiscardNode;
    *node_name = std::string(v.substr(13));
  } else {
    return false;
  }
  return true;
}

bool parse_after_sb_1pri(std::string_view v, AfterSb1* out) {
  if (v == "disconnect") *out = AfterSb1::Disconnect;
  else if (v == "consensus") *out = AfterSb1::Consensus;
  else if (v == "discard-secondary") *out = AfterSb1::DiscardSecondary;
  else if (v == "call-pri-lost-after-sb") *out = AfterSb1::CallPriLostAfterSb;
  else if (v == "violently-as0p") *out = AfterSb1::ViolentlyAs0p;
  else return false;
  return true;
}

bool parse_after_sb_2pri(std::string_view v, AfterSb2* out) {
  if (v == "disconnect") *out = AfterSb2::Disconnect;
  else if (v == "call-pri-lost-after-sb") *out = AfterSb2::CallPriLostAfterSb;
  else if (v == "violently-as0p") *out = AfterSb2::ViolentlyAs0p;
  else return false;
  return true;
}

namespace {

// 0: a is the victim, 1: b is, -1: none. `a` has the lower node id.
int apply_0pri(const SplitBrainPolicy& p, const SplitBrainSide& a, const SplitBrainSide& b, std::string* why) {
  switch (p.pri0) {
    case AfterSb0::Disconnect:
      *why = "after-sb-0pri disconnect";
      return -1;
    case AfterSb0::DiscardYoungerPrimary:
    case AfterSb0::DiscardOlderPrimary:
      // DRBD: the "older" Primary was Primary before the split; the "younger" one became Primary while apart.
      if (a.primary_at_split != b.primary_at_split) {
        bool discard_younger = p.pri0 == AfterSb0::DiscardYoungerPrimary;
        // The victim: the younger (not primary_at_split) or the older one.
        int v = (a.primary_at_split == discard_younger) ? 1 : 0;
        *why = fmt::format("{}: node {} was Primary before the split, node {} became Primary while apart",
                           discard_younger ? "discard-younger-primary" : "discard-older-primary",
                           a.primary_at_split ? a.node_id : b.node_id, a.primary_at_split ? b.node_id : a.node_id);
        return v;
      }
      // As DRBD: no decision from the roles, so discard-least-changes decides.
      {
        SplitBrainPolicy least = p;
        least.pri0 = AfterSb0::DiscardLeastChanges;
        int v = apply_0pri(least, a, b, why);
        *why = "discard-younger/older-primary found no younger and older Primary, using " + *why;
        return v;
      }
    case AfterSb0::DiscardZeroChanges:
      if (a.changed_bytes == 0 && b.changed_bytes == 0) {
        *why = "discard-zero-changes: neither node changed anything; the higher node id follows the lower";
        return 1;
      }
      if (a.changed_bytes == 0 || b.changed_bytes == 0) {
        int v = a.changed_bytes == 0 ? 0 : 1;
        *why = fmt::format("discard-zero-changes: node {} made no changes", v == 0 ? a.node_id : b.node_id);
        return v;
      }
      *why = "discard-zero-changes: both nodes made changes; disconnecting";
      return -1;
    case AfterSb0::DiscardLeastChanges:
      if (a.changed_bytes == b.changed_bytes) {
        *why = fmt::format("discard-least-changes: equal changes ({} bytes); the higher node id loses",
                           a.changed_bytes);
        return 1;
      }
      *why = fmt::format("discard-least-changes: node {} changed fewer bytes ({} vs {})",
                         a.changed_bytes < b.changed_bytes ? a.node_id : b.node_id,
                         std::min(a.changed_bytes, b.changed_bytes), std::max(a.changed_bytes, b.changed_bytes));
      return a.changed_bytes < b.changed_bytes ? 0 : 1;
    case AfterSb0::DiscardNode:
      if (p.discard_node_id == a.node_id || p.discard_node_id == b.node_id) {
        *why = fmt::format("discard-node: node {} is configured to lose", p.discard_node_id);
        return p.discard_node_id == a.node_id ? 0 : 1;
      }
      *why = "discard-node names neither node; disconnecting";
      return -1;
  }
  return -1;
}

}  // namespace

SplitBrainOutcome resolve_split_brain(const SplitBrainPolicy& p, const SplitBrainSide& local,
                                      const SplitBrainSide& peer) {
  const bool local_first = local.node_id < peer.node_id;
  const SplitBrainSide& a = local_first ? local : peer;
  const SplitBrainSide& b = local_first ? peer : local;
  int primaries = (a.role == Role::Primary) + (b.role == Role::Primary);
  SplitBrainOutcome out;
  int victim = -1;  // index into (a, b)
  bool pri_lost = false;
  std::string why;
  if (primaries == 0) {
    victim = apply_0pri(p, a, b, &why);
  } else if (primaries == 1) {
    int pri = a.role == Role::Primary ? 0 : 1;
    switch (p.pri1) {
      case AfterSb1::Disconnect: why = "after-sb-1pri disconnect"; break;
      case AfterSb1::DiscardSecondary:
        victim = 1 - pri;
        why = "after-sb-1pri discard-secondary";
        break;
      case AfterSb1::Consensus:
      case AfterSb1::CallPriLostAfterSb:
      case AfterSb1::ViolentlyAs0p: {
        int v = apply_0pri(p, a, b, &why);
        if (v == 1 - pri) {
          victim = v;
        } else if (v == pri) {
          if (p.pri1 == AfterSb1::CallPriLostAfterSb) pri_lost = true;
          why += "; but that node is the Primary, so the split brain stays unresolved";
        }
        break;
      }
    }
  } else {
    why = "after-sb-2pri: both nodes are Primary";
    if (p.pri2 == AfterSb2::CallPriLostAfterSb) {
      // Both are Primary, so neither can be resynced now; the losing Primary's handler is told.
      std::string rule;
      int v = apply_0pri(p, a, b, &rule);
      why += "; " + rule;
      if (v >= 0) out.call_pri_lost_after_sb = (v == 0) == local_first;
    }
  }
  // Never make a Primary the sync target.
  if (victim >= 0 && (victim == 0 ? a : b).role == Role::Primary) {
    why += "; but the losing node is Primary, so the split brain stays unresolved";
    victim = -1;
  }
  if (victim >= 0) {
    bool local_loses = (victim == 0) == local_first;
    out.victim = local_loses ? SplitBrainOutcome::Victim::Local : SplitBrainOutcome::Victim::Peer;
  } else if (pri_lost && primaries == 1) {
    bool local_is_primary = local.role == Role::Primary;
    out.call_pri_lost_after_sb = local_is_primary;
  }
  out.why = why;
  return out;
}

}  // namespace tandem
