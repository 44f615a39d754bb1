#include "core/activity_log.h"

#include <algorithm>

#include "common/check.h"

namespace tandem {

ActivityLog::ActivityLog(uint32_t slots, uint32_t extent_shift, uint64_t last_seq)
    : shift_(extent_shift), slots_(slots), next_seq_(last_seq + 1) {
  TANDEM_CHECK(slots >= 1 && slots <= meta::kAlExtentsUsable);
  TANDEM_CHECK(extent_shift >= 12 && extent_shift < 40);
  index_.reserve(slots);
}

uint32_t ActivityLog::max_extents_per_write() const {
  return std::min<uint32_t>(slots(), meta::kAlUpdatesPerTx);
}

uint32_t ActivityLog::refs(uint32_t extent) const {
  auto it = index_.find(extent);
  return it == index_.end() ? 0 : slots_[it->second].refs;
}

std::vector<uint32_t> ActivityLog::active_extents() const {
  std::vector<uint32_t> v;
  v.reserve(index_.size());
  for (const auto& [e, s] : index_) v.push_back(e);
  std::sort(v.begin(), v.end());
  return v;
}

ActivityLog::Begin ActivityLog::begin(uint64_t offset, uint64_t length, meta::AlTransaction* tx,
                                      std::vector<uint32_t>* evicted) {
  TANDEM_CHECK(length > 0);
  const uint32_t first = first_extent(offset), last = last_extent(offset, length);
  if (uint64_t(last) - first + 1 > max_extents_per_write()) return Begin::TooLarge;
  // Which extents are cold, and can a slot be found for each? Victims: free slots, then the least recently
  // used slots that no write holds and that this write does not need itself.
  std::vector<uint32_t> cold;
  for (uint32_t e = first; e <= last; e++)
    if (!index_.count(e)) cold.push_back(e);
  std::vector<uint32_t> victims;
  if (!cold.empty()) {
    std::vector<uint32_t> candidates;
    for (uint32_t s = 0; s < slots(); s++) {
      const Slot& sl = slots_[s];
      if (sl.extent == meta::kAlFreeExtent) {
        victims.push_back(s);
        if (victims.size() == cold.size()) break;
      } else if (sl.refs == 0 && (sl.extent < first || sl.extent > last)) {
        candidates.push_back(s);
      }
    }
    if (victims.size() < cold.size()) {
      size_t need = cold.size() - victims.size();
      if (candidates.size() < need) return Begin::Busy;
      std::partial_sort(candidates.begin(), candidates.begin() + static_cast<long>(need), candidates.end(),
                        [&](uint32_t a, uint32_t b) { return slots_[a].last_use < slots_[b].last_use; });
      for (size_t i = 0; i < need; i++)
        if (slots_[candidates[i]].last_end > durable_) return Begin::NeedFlush;
      victims.insert(victims.end(), candidates.begin(), candidates.begin() + static_cast<long>(need));
    }
  }
  clock_++;
  evicted->clear();
  tx->updates.clear();
  tx->context.clear();
  for (size_t i = 0; i < cold.size(); i++) {
    Slot& sl = slots_[victims[i]];
    if (sl.extent != meta::kAlFreeExtent) {
      evicted->push_back(sl.extent);
      index_.erase(sl.extent);
    }
    sl.extent = cold[i];
    sl.refs = 0;
    index_[cold[i]] = victims[i];
    tx->updates.emplace_back(victims[i], cold[i]);
  }
  for (uint32_t e = first; e <= last; e++) {
    Slot& sl = slots_[index_.at(e)];
    sl.refs++;
    sl.last_use = clock_;
  }
  if (cold.empty()) return Begin::Hot;
  tx->seq = next_seq_++;
  tx->al_extents = slots();
  uint32_t n = std::min<uint32_t>(meta::kAlContextPerTx, slots());
  tx->context_start = context_cursor_;
  for (uint32_t i = 0; i < n; i++) tx->context.push_back(slots_[(context_cursor_ + i) % slots()].extent);
  context_cursor_ = (context_cursor_ + n) % slots();
  transactions_++;
  return Begin::NeedTransaction;
}

std::vector<meta::AlTransaction> ActivityLog::describe_all() {
  std::vector<meta::AlTransaction> out;
  uint32_t covered = 0;
  do {
    meta::AlTransaction tx;
    tx.seq = next_seq_++;
    tx.al_extents = slots();
    uint32_t n = std::min<uint32_t>(meta::kAlContextPerTx, slots());
    tx.context_start = context_cursor_;
    for (uint32_t i = 0; i < n; i++) tx.context.push_back(slots_[(context_cursor_ + i) % slots()].extent);
    context_cursor_ = (context_cursor_ + n) % slots();
    covered += n;
    transactions_++;
    out.push_back(std::move(tx));
  } while (covered < slots());
  return out;
}

void ActivityLog::end(uint64_t offset, uint64_t length) {
  for (uint32_t e = first_extent(offset); e <= last_extent(offset, length); e++) {
    auto it = index_.find(e);
    TANDEM_CHECK_MSG(it != index_.end() && slots_[it->second].refs > 0, "activity log: end() without begin()");
    slots_[it->second].refs--;
    slots_[it->second].last_end = ++end_counter_;
  }
}

}  // namespace tandem
