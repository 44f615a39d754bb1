#include "tests/sim/sim_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include <fmt/ranges.h>

namespace tandem::sim {
namespace {
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}
}  // namespace

void fill_block(uint64_t version, uint8_t* out) {
  if (version == 0) {
    std::memset(out, 0, kBlockBytes);
    return;
  }
  // Word 0 names the version; the rest is derived from it so a torn or misplaced block never matches.
  for (uint32_t i = 0; i < kBlockBytes / 8; i++) {
    uint64_t w = i == 0 ? version : mix(version * 4099 + i);
    std::memcpy(out + i * 8, &w, 8);
  }
}

uint64_t block_version(const uint8_t* block) {
  uint64_t v;
  std::memcpy(&v, block, 8);
  return v;
}

bool block_matches(uint64_t version, const uint8_t* block) {
  uint8_t expect[kBlockBytes];
  fill_block(version, expect);
  return std::memcmp(expect, block, kBlockBytes) == 0;
}

void DataModel::prune(Block& k) {
  std::erase_if(k.versions, [&](uint64_t v) { return v < k.dfloor; });
}

void DataModel::acked(uint64_t b, uint64_t version, bool durable) {
  Block& k = blocks_[b];
  k.floor = std::max(k.floor, version);
  if (durable) k.dfloor = std::max(k.dfloor, version);
  prune(k);
}

std::vector<uint64_t> DataModel::floors() const {
  std::vector<uint64_t> f(blocks_.size());
  for (size_t b = 0; b < blocks_.size(); b++) f[b] = blocks_[b].floor;
  return f;
}

void DataModel::flushed(const std::vector<uint64_t>& floors_at_submit) {
  for (size_t b = 0; b < blocks_.size(); b++) {
    Block& k = blocks_[b];
    k.dfloor = std::max(k.dfloor, std::min(floors_at_submit[b], k.floor));
    prune(k);
  }
}

void DataModel::crashed() {
  for (Block& k : blocks_) k.floor = k.dfloor;
}

void DataModel::sync_from(const DataModel& source, uint64_t max_version_at_snapshot) {
  for (size_t b = 0; b < blocks_.size(); b++) {
    Block& k = blocks_[b];
    std::vector<uint64_t> v = source.allowed(b);
    for (uint64_t x : k.versions)
      if (x > max_version_at_snapshot) v.push_back(x);
    k.versions = std::move(v);
    k.floor = 0;
    k.dfloor = 0;
  }
}

void DataModel::reset_block(uint64_t b, const std::vector<uint64_t>& versions) {
  Block& k = blocks_[b];
  k.versions = versions;
  k.floor = 0;
  k.dfloor = 0;
}

bool DataModel::allows(uint64_t b, uint64_t version) const {
  const Block& k = blocks_[b];
  if (version < k.floor) return false;
  return std::find(k.versions.begin(), k.versions.end(), version) != k.versions.end();
}

std::vector<uint64_t> DataModel::allowed(uint64_t b) const {
  std::vector<uint64_t> out;
  for (uint64_t v : blocks_[b].versions)
    if (v >= blocks_[b].floor) out.push_back(v);
  return out;
}

std::string DataModel::describe(uint64_t b) const {
  const Block& k = blocks_[b];
  return fmt::format("versions [{}] floor {} durable floor {}", fmt::join(k.versions, " "), k.floor, k.dfloor);
}

int GenTree::fork(int parent) {
  parent_.push_back(parent);
  writes_.push_back(0);
  return static_cast<int>(parent_.size()) - 1;
}

bool GenTree::ancestor_or_equal(int a, int b) const {
  for (int g = b; g >= 0; g = parent_[g])
    if (g == a) return true;
  return false;
}

int GenTree::lca(int a, int b) const {
  for (int g = a; g >= 0; g = parent_[g])
    if (ancestor_or_equal(g, b)) return g;
  return -1;
}

uint64_t GenTree::writes_since(int ancestor, int g) const {
  uint64_t n = 0;
  for (; g >= 0 && g != ancestor; g = parent_[g]) n += writes_[g];
  return n;
}

}  // namespace tandem::sim
