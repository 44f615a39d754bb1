// DRBD's dynamic resync-rate controller (drbd_rs_controller), run every 100 ms on the sync source.
//
// It aims at a wanted amount of resync data in flight: c-fill-target bytes, or, without one, what the last
// step delivered times c-delay-target (so the queue stays about that long). The difference between that
// and what is in flight (plus what is already planned) is spread evenly over the next c-plan-ahead steps
// through a FIFO of corrections, so the rate changes smoothly. A step may send what the last one delivered
// plus the correction that falls due now, never more than c-max-rate allows.
//
// c-min-rate: while application I/O is busy, the resync yields to it, but is not slowed below c-min-rate.
//
// Pure and deterministic: the caller feeds it measurements and gets a byte budget.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tandem {

struct ResyncControlConfig {
  // resync-rate: the fixed rate when not dynamic (0 = unthrottled), the start-up rate when dynamic.
  uint64_t fixed_rate_bytes_per_s = 0;
  bool dynamic = false;
  uint32_t plan_ahead_steps = 20;       // c-plan-ahead, in 100 ms steps
  uint64_t fill_target_bytes = 0;       // c-fill-target; 0 = use the delay target
  uint32_t delay_target_steps = 10;     // c-delay-target, in 100 ms steps
  uint64_t max_rate_bytes_per_s = 0;    // c-max-rate; 0 = no ceiling
  uint64_t min_rate_bytes_per_s = 250 * 1024;  // c-min-rate
  bool operator==(const ResyncControlConfig&) const = default;
};

class ResyncController {
 public:
  static constexpr uint32_t kStepMs = 100;

  explicit ResyncController(const ResyncControlConfig& cfg);

  // One 100 ms step: `delivered` bytes were acknowledged by the target since the last step, `in_flight`
  // bytes are sent (or being read) and not yet acknowledged. Returns the bytes the source may start now.
  uint64_t step(uint64_t delivered, uint64_t in_flight);
  // Forgets the plan (a new resync starts).
  void reset();

 private:
  ResyncControlConfig cfg_;
  std::vector<int64_t> plan_;  // corrections due in the next steps (a ring)
  size_t head_ = 0;
  int64_t planned_total_ = 0;
};

// c-min-rate: the budget of a step while application I/O competes, given the step's dynamic budget and the
// resync rate measured recently. Above c-min-rate the resync gives way (it gets only the c-min-rate share).
uint64_t yield_to_application(uint64_t budget, uint64_t measured_rate_bytes_per_s, uint64_t min_rate_bytes_per_s);

}  // namespace tandem
