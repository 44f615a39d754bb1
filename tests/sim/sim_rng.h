// The simulator's only source of randomness: one seeded std::mt19937_64 per run, so a seed replays exactly.
#pragma once

#include <cstdint>
#include <random>

namespace tandem::sim {

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  uint64_t next() { return gen_(); }
  // Uniform in [0, n); n > 0.
  uint64_t below(uint64_t n) { return gen_() % n; }
  // Uniform in [lo, hi].
  uint64_t between(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }
  bool chance(double p) { return static_cast<double>(gen_() >> 11) * 0x1.0p-53 < p; }

 private:
  std::mt19937_64 gen_;
};

}  // namespace tandem::sim
