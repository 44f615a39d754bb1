#include "meta/al_ring.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "common/byte_order.h"
#include "common/check.h"
#include "common/crc32c.h"

namespace tandem::meta {

namespace {

uint32_t slot_crc(const uint8_t* in) {
  uint32_t c = crc32c(in, al::kCrcOff);
  const uint8_t zero[4] = {0, 0, 0, 0};
  return crc32c(zero, 4, c);
}

std::string check_values(const AlTransaction& tx) {
  if (tx.seq == 0) return "sequence number 0";
  if (tx.al_extents == 0 || tx.al_extents > kAlExtentsUsable)
    return fmt::format("active-set size {} outside 1..{}", tx.al_extents, kAlExtentsUsable);
  if (tx.updates.size() > kAlUpdatesPerTx) return fmt::format("{} updates (limit {})", tx.updates.size(), kAlUpdatesPerTx);
  if (tx.context.size() > kAlContextPerTx || tx.context.size() > tx.al_extents)
    return fmt::format("{} context entries for {} slots", tx.context.size(), tx.al_extents);
  if (tx.context_start >= tx.al_extents) return fmt::format("context start {} beyond {} slots", tx.context_start, tx.al_extents);
  for (auto [slot, ext] : tx.updates)
    if (slot >= tx.al_extents || ext == kAlFreeExtent) return fmt::format("update of slot {} to extent {}", slot, ext);
  return "";
}

}  // namespace

void encode_al_slot(const AlTransaction& tx, uint8_t out[kAlSlotBytes]) {
  std::string bad = check_values(tx);
  TANDEM_CHECK_MSG(bad.empty(), "refusing to write an impossible activity-log transaction");
  std::memset(out, 0, kAlSlotBytes);
  put_le32(out + al::kMagicOff, kAlMagic);
  put_le32(out + al::kVersionOff, kAlVersion);
  put_le64(out + al::kSeqOff, tx.seq);
  put_le32(out + al::kExtentsOff, tx.al_extents);
  put_le16(out + al::kNUpdatesOff, static_cast<uint16_t>(tx.updates.size()));
  put_le16(out + al::kNContextOff, static_cast<uint16_t>(tx.context.size()));
  put_le32(out + al::kContextStartOff, tx.context_start);
  for (size_t i = 0; i < tx.updates.size(); i++) {
    put_le32(out + al::kUpdatesOff + 8 * i, tx.updates[i].first);
    put_le32(out + al::kUpdatesOff + 8 * i + 4, tx.updates[i].second);
  }
  for (size_t i = 0; i < tx.context.size(); i++) put_le32(out + al::kContextOff + 4 * i, tx.context[i]);
  put_le32(out + al::kCrcOff, slot_crc(out));
}

AlSlotResult decode_al_slot(const uint8_t in[kAlSlotBytes], AlTransaction* tx, std::string* error) {
  bool all_zero = std::all_of(in, in + kAlSlotBytes, [](uint8_t b) { return b == 0; });
  if (all_zero) return AlSlotResult::Empty;
  uint32_t magic = get_le32(in + al::kMagicOff);
  if (magic != kAlMagic) {
    *error = fmt::format("bad magic 0x{:08x} (expected 0x{:08x})", magic, kAlMagic);
    return AlSlotResult::BadMagic;
  }
  uint32_t version = get_le32(in + al::kVersionOff);
  if (version != kAlVersion) {
    *error = fmt::format("activity-log transaction version {} (this build reads {})", version, kAlVersion);
    return AlSlotResult::UnsupportedVersion;
  }
  uint32_t stored = get_le32(in + al::kCrcOff), computed = slot_crc(in);
  if (stored != computed) {
    *error = fmt::format("checksum mismatch (stored 0x{:08x}, computed 0x{:08x})", stored, computed);
    return AlSlotResult::ChecksumMismatch;
  }
  AlTransaction t;
  t.seq = get_le64(in + al::kSeqOff);
  t.al_extents = get_le32(in + al::kExtentsOff);
  uint32_t nu = get_le16(in + al::kNUpdatesOff), nc = get_le16(in + al::kNContextOff);
  t.context_start = get_le32(in + al::kContextStartOff);
  if (nu > kAlUpdatesPerTx || nc > kAlContextPerTx || get_le32(in + al::kReservedOff) != 0) {
    *error = fmt::format("impossible counts ({} updates, {} context entries)", nu, nc);
    return AlSlotResult::Insane;
  }
  for (uint32_t i = 0; i < nu; i++)
    t.updates.emplace_back(get_le32(in + al::kUpdatesOff + 8 * i), get_le32(in + al::kUpdatesOff + 8 * i + 4));
  for (uint32_t i = 0; i < nc; i++) t.context.push_back(get_le32(in + al::kContextOff + 4 * i));
  std::string bad = check_values(t);
  if (!bad.empty()) {
    *error = "impossible values: " + bad;
    return AlSlotResult::Insane;
  }
  *tx = std::move(t);
  return AlSlotResult::Ok;
}

AlRecovery recover_al(const std::vector<uint8_t>& ring) {
  TANDEM_CHECK(ring.size() == size_t(kAlSlots) * kAlSlotBytes);
  AlRecovery r;
  std::map<uint64_t, AlTransaction> by_seq;
  std::vector<std::string> damage;
  for (uint32_t s = 0; s < kAlSlots; s++) {
    AlTransaction tx;
    std::string err;
    AlSlotResult res = decode_al_slot(&ring[size_t(s) * kAlSlotBytes], &tx, &err);
    if (res == AlSlotResult::Empty) continue;
    if (res != AlSlotResult::Ok) {
      r.damaged_slots++;
      damage.push_back(fmt::format("slot {}: {}", s, err));
      continue;
    }
    if (tx.seq % kAlSlots != s) {
      r.damaged_slots++;
      damage.push_back(fmt::format("slot {}: holds transaction {}, which belongs in slot {}", s, tx.seq, tx.seq % kAlSlots));
      continue;
    }
    by_seq[tx.seq] = std::move(tx);
  }
  if (by_seq.empty()) {
    if (r.damaged_slots == 0) {
      r.ok = true;  // never written: nothing was ever active
      return r;
    }
    r.problem = fmt::format("no valid transaction in the activity log ({})", fmt::join(damage, "; "));
    return r;
  }
  // The newest run of consecutive transactions (older slots were overwritten by the ring or are damaged).
  auto last = std::prev(by_seq.end());
  r.last_seq = last->first;
  uint32_t set_size = last->second.al_extents;
  uint64_t first = last->first;
  while (first > 1 && by_seq.count(first - 1) && by_seq[first - 1].al_extents == set_size) first--;
  std::vector<uint32_t> set(set_size, kAlFreeExtent);
  std::vector<bool> known(set_size, false);
  for (uint64_t q = first; q <= r.last_seq; q++) {
    const AlTransaction& tx = by_seq[q];
    for (size_t i = 0; i < tx.context.size(); i++) {
      uint32_t slot = static_cast<uint32_t>((tx.context_start + i) % set_size);
      set[slot] = tx.context[i];
      known[slot] = true;
    }
    for (auto [slot, ext] : tx.updates) {
      set[slot] = ext;
      known[slot] = true;
    }
  }
  size_t unknown = static_cast<size_t>(std::count(known.begin(), known.end(), false));
  if (unknown > 0) {
    r.problem = fmt::format(
        "the activity log's intact transactions {}..{} describe only {} of its {} slots{}{}", first, r.last_seq,
        set_size - unknown, set_size, damage.empty() ? "" : "; damaged: ", fmt::join(damage, "; "));
    return r;
  }
  for (uint32_t e : set)
    if (e != kAlFreeExtent) r.extents.push_back(e);
  std::sort(r.extents.begin(), r.extents.end());
  r.extents.erase(std::unique(r.extents.begin(), r.extents.end()), r.extents.end());
  r.ok = true;
  if (!damage.empty()) r.problem = fmt::format("ignored damaged slots: {}", fmt::join(damage, "; "));
  return r;
}

}  // namespace tandem::meta
