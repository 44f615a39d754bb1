#include "core/resync_controller.h"

#include <algorithm>

#include "common/check.h"

namespace tandem {

ResyncController::ResyncController(const ResyncControlConfig& cfg) : cfg_(cfg) {
  TANDEM_CHECK(!cfg_.dynamic || cfg_.plan_ahead_steps > 0);
  plan_.assign(std::max<uint32_t>(cfg_.plan_ahead_steps, 1), 0);
}

void ResyncController::reset() {
  std::fill(plan_.begin(), plan_.end(), 0);
  head_ = 0;
  planned_total_ = 0;
}

uint64_t ResyncController::step(uint64_t delivered, uint64_t in_flight) {
  const int64_t steps = static_cast<int64_t>(plan_.size());
  int64_t want;
  if (delivered + in_flight == 0) {
    // Start-up (nothing measured yet): plan for twice resync-rate over the plan-ahead window, as DRBD does
    // (c-min-rate when no resync-rate is set).
    uint64_t initial = cfg_.fixed_rate_bytes_per_s ? cfg_.fixed_rate_bytes_per_s : cfg_.min_rate_bytes_per_s;
    want = static_cast<int64_t>(initial * 2 * kStepMs / 1000) * steps;
  } else if (cfg_.fill_target_bytes > 0) {
    want = static_cast<int64_t>(cfg_.fill_target_bytes);
  } else {
    want = static_cast<int64_t>(delivered) * cfg_.delay_target_steps;
  }
  int64_t correction = want - static_cast<int64_t>(in_flight) - planned_total_;
  int64_t per_step = correction / steps;
  for (int64_t& p : plan_) p += per_step;
  planned_total_ += per_step * steps;
  int64_t due = plan_[head_];
  plan_[head_] = 0;
  head_ = (head_ + 1) % plan_.size();
  planned_total_ -= due;

  int64_t budget = std::max<int64_t>(0, static_cast<int64_t>(delivered) + due);
  if (cfg_.max_rate_bytes_per_s > 0)
    budget = std::min<int64_t>(budget, static_cast<int64_t>(cfg_.max_rate_bytes_per_s * kStepMs / 1000));
  return static_cast<uint64_t>(budget);
}

uint64_t yield_to_application(uint64_t budget, uint64_t measured_rate_bytes_per_s, uint64_t min_rate_bytes_per_s) {
  if (min_rate_bytes_per_s == 0 || measured_rate_bytes_per_s <= min_rate_bytes_per_s) return budget;
  return std::min<uint64_t>(budget, min_rate_bytes_per_s * ResyncController::kStepMs / 1000);
}

}  // namespace tandem
