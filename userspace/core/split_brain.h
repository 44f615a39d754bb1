// Automatic split-brain recovery: DRBD's after-sb-0pri / after-sb-1pri / after-sb-2pri policies.
//
// When both nodes wrote while apart, the handshake finds a split brain. A policy may name a victim, whose changes
// are discarded: it becomes the target of a full resync from the other node. Pure and symmetric: both nodes
// evaluate the same inputs in node-id order and reach mirrored answers. A Primary is never made the victim (it
// would have to become SyncTarget under its users); such cases disconnect, and call-pri-lost-after-sb asks the
// handler to deal with that Primary.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/states.h"

namespace tandem {

enum class AfterSb0 { Disconnect, DiscardYoungerPrimary, DiscardOlderPrimary, DiscardZeroChanges,
                      DiscardLeastChanges, DiscardNode };
enum class AfterSb1 { Disconnect, Consensus, DiscardSecondary, CallPriLostAfterSb, ViolentlyAs0p };
enum class AfterSb2 { Disconnect, CallPriLostAfterSb, ViolentlyAs0p };

struct SplitBrainPolicy {
  AfterSb0 pri0 = AfterSb0::Disconnect;
  AfterSb1 pri1 = AfterSb1::Disconnect;
  AfterSb2 pri2 = AfterSb2::Disconnect;
  uint32_t discard_node_id = 0;  // for AfterSb0::DiscardNode
};

// Parses the DRBD keyword values ("discard-zero-changes", "discard-node-beta", ...). For discard-node-NAME the
// caller resolves NAME to a node id. Returns false on an unknown value.
bool parse_after_sb_0pri(std::string_view v, AfterSb0* out, std::string* node_name);
bool parse_after_sb_1pri(std::string_view v, AfterSb1* out);
bool parse_after_sb_2pri(std::string_view v, AfterSb2* out);

struct SplitBrainSide {
  uint32_t node_id = 0;
  Role role = Role::Secondary;
  uint64_t changed_bytes = 0;  // out-of-sync bytes recorded while apart (the dirty bitmap)
  bool primary_at_split = false;  // was Primary before the split (the "older" Primary), not promoted while apart
};

struct SplitBrainOutcome {
  enum class Victim { None, Local, Peer } victim = Victim::None;
  bool call_pri_lost_after_sb = false;  // run the pri-lost-after-sb handler on this node (it is the Primary to give up)
  std::string why;
};

SplitBrainOutcome resolve_split_brain(const SplitBrainPolicy& p, const SplitBrainSide& local,
                                      const SplitBrainSide& peer);

}  // namespace tandem
