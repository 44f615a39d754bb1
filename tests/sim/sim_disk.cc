#include "tests/sim/sim_disk.h"

#include <cerrno>
#include <cstring>

#include "common/check.h"

namespace tandem::sim {

SimDisk::SimDisk(uint64_t size_bytes)
    : cur_(size_bytes, 0), durable_(size_bytes, 0), cached_(size_bytes / kBlockBytes) {
  TANDEM_CHECK(size_bytes % kBlockBytes == 0);
}

void SimDisk::submit(const StorageOp& op, uint64_t complete_at_us) {
  if (op.kind != StorageOpKind::Flush) {
    // The core only issues whole 4 KiB blocks; the crash model relies on it.
    TANDEM_CHECK(op.offset % kBlockBytes == 0 && op.length % kBlockBytes == 0);
    TANDEM_CHECK(op.offset + op.length <= cur_.size());
  }
  Pending p;
  p.op = op;
  p.complete_at_us = complete_at_us;
  p.id = next_id_++;
  // A flush covers the writes completed before it was submitted.
  p.flush_covers = completion_seq_;
  pending_.push_back(p);
}

int SimDisk::next_index() const {
  int best = -1;
  for (size_t i = 0; i < pending_.size(); i++) {
    const Pending& p = pending_[i];
    if (best < 0 || p.complete_at_us < pending_[best].complete_at_us ||
        (p.complete_at_us == pending_[best].complete_at_us && p.id < pending_[best].id))
      best = static_cast<int>(i);
  }
  return best;
}

void SimDisk::write_block(uint64_t b, const uint8_t* src, bool fua) {
  std::memcpy(&cur_[b * kBlockBytes], src, kBlockBytes);
  if (fua) {
    // Durable now, and newer than anything still cached for this block.
    std::memcpy(&durable_[b * kBlockBytes], src, kBlockBytes);
    cached_[b].clear();
  } else {
    cached_[b].push_back({completion_seq_, std::vector<uint8_t>(src, src + kBlockBytes)});
  }
}

int SimDisk::complete(size_t i, Rng* rng, double io_error_rate) {
  TANDEM_CHECK(i < pending_.size());
  Pending p = pending_[i];
  pending_.erase(pending_.begin() + static_cast<long>(i));
  const StorageOp& op = p.op;
  if (io_error_rate > 0 && op.kind != StorageOpKind::Flush && rng->chance(io_error_rate)) return -EIO;
  switch (op.kind) {
    case StorageOpKind::Read: std::memcpy(op.buf, &cur_[op.offset], op.length); break;
    case StorageOpKind::Write:
    case StorageOpKind::Trim:
    case StorageOpKind::WriteZeroes: {
      completion_seq_++;
      static const std::vector<uint8_t> zeroes(kBlockBytes, 0);
      for (uint64_t off = 0; off < op.length; off += kBlockBytes) {
        const uint8_t* src = op.kind == StorageOpKind::Write ? op.buf + off : zeroes.data();
        write_block((op.offset + off) / kBlockBytes, src, op.fua);
      }
      break;
    }
    case StorageOpKind::Flush:
      for (uint64_t b = 0; b < cached_.size(); b++) {
        auto& c = cached_[b];
        size_t n = 0;
        while (n < c.size() && c[n].seq <= p.flush_covers) n++;
        if (n == 0) continue;
        std::memcpy(&durable_[b * kBlockBytes], c[n - 1].data.data(), kBlockBytes);
        c.erase(c.begin(), c.begin() + static_cast<long>(n));
      }
      break;
  }
  return 0;
}

void SimDisk::crash(Rng* rng) {
  // Writes in flight may have reached the cache, block by block, in any order: treat each as one more
  // candidate version (they are newer than every completed one).
  for (const Pending& p : pending_) {
    const StorageOp& op = p.op;
    if (op.kind == StorageOpKind::Read || op.kind == StorageOpKind::Flush) continue;
    static const std::vector<uint8_t> zeroes(kBlockBytes, 0);
    for (uint64_t off = 0; off < op.length; off += kBlockBytes) {
      uint64_t b = (op.offset + off) / kBlockBytes;
      const uint8_t* src = op.kind == StorageOpKind::Write ? op.buf + off : zeroes.data();
      cached_[b].push_back({~0ULL, std::vector<uint8_t>(src, src + kBlockBytes)});
    }
  }
  pending_.clear();
  for (uint64_t b = 0; b < cached_.size(); b++) {
    auto& c = cached_[b];
    if (!c.empty()) {
      // 0 = the media kept its durable content; k = the k-th cached version was written back.
      uint64_t k = rng->below(c.size() + 1);
      if (k > 0) std::memcpy(&durable_[b * kBlockBytes], c[k - 1].data.data(), kBlockBytes);
      c.clear();
    }
  }
  cur_ = durable_;
}

std::vector<const uint8_t*> SimDisk::possible_contents(uint64_t b) const {
  std::vector<const uint8_t*> out{&cur_[b * kBlockBytes], &durable_[b * kBlockBytes]};
  for (const Cached& c : cached_[b]) out.push_back(c.data.data());
  for (const Pending& p : pending_) {
    const StorageOp& op = p.op;
    if (op.kind == StorageOpKind::Write && b * kBlockBytes >= op.offset && b * kBlockBytes < op.offset + op.length)
      out.push_back(op.buf + (b * kBlockBytes - op.offset));
  }
  return out;
}

void SimDisk::sync_all() {
  durable_ = cur_;
  for (auto& c : cached_) c.clear();
}

bool SimDisk::has_unsynced() const {
  for (const auto& c : cached_)
    if (!c.empty()) return true;
  return false;
}

}  // namespace tandem::sim
