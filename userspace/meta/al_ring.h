// The activity-log ring on disk: conversion of one transaction to and from its 4 KiB slot, and the
// reconstruction of the active extent set from the slots found at attach. This file (al_ring.cc) is the only
// place that knows the byte layout; constants in meta/format.h, byte table in docs/format.md.
//
// A transaction records (a) the extents that entered the active set, as (slot, extent) updates, and (b) a
// window of the set after the updates (the "context", kAlContextPerTx consecutive slots, the window moving on
// with every transaction). Replaying the newest run of consecutive transactions in order therefore rebuilds
// the whole set once their windows cover it; al-extents is limited to kAlExtentsUsable so that kAlSlots - 1
// intact transactions always do (the newest one may be torn by a crash).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "meta/format.h"

namespace tandem::meta {

struct AlTransaction {
  uint64_t seq = 0;         // >= 1; slot seq % kAlSlots of the ring
  uint32_t al_extents = 0;  // size of the active set
  std::vector<std::pair<uint32_t, uint32_t>> updates;  // (set slot, extent); at most kAlUpdatesPerTx
  uint32_t context_start = 0;                           // set slot of context[0]; the window wraps
  std::vector<uint32_t> context;                        // at most kAlContextPerTx extents (kAlFreeExtent = none)

  bool operator==(const AlTransaction&) const = default;
};

enum class AlSlotResult { Ok, Empty, BadMagic, UnsupportedVersion, ChecksumMismatch, Insane };

// Encodes `tx` (whose values must be sane: TANDEM_CHECKed) into a 4 KiB slot.
void encode_al_slot(const AlTransaction& tx, uint8_t out[kAlSlotBytes]);
// Decodes one slot. Empty = all zero (never written, e.g. after create-md). *error names any other problem.
AlSlotResult decode_al_slot(const uint8_t in[kAlSlotBytes], AlTransaction* tx, std::string* error);

struct AlRecovery {
  bool ok = false;               // the set below is complete and trustworthy
  std::string problem;           // why not (for the log), when !ok
  std::vector<uint32_t> extents; // extents in the active set at the last durable transaction, ascending
  uint64_t last_seq = 0;         // 0 when the ring holds no transaction (fresh metadata)
  uint32_t damaged_slots = 0;    // slots that are neither empty nor valid (the newest may be torn: normal)
};

// Rebuilds the active set from the raw ring (kAlSlots slots of kAlSlotBytes, in ring order).
AlRecovery recover_al(const std::vector<uint8_t>& ring);

}  // namespace tandem::meta
