// The dynamic resync controller in isolation: a simulated link that delivers what it is given after a
// fixed latency, stepped every 100 ms.
#include "core/resync_controller.h"

#include <gtest/gtest.h>

#include <deque>

namespace tandem {
namespace {

// Steps the controller against a pipe of `latency_steps` steps and at most `link_bytes_per_step` per step;
// returns the bytes delivered per step over the last `measure` of `total` steps.
uint64_t steady_rate(const ResyncControlConfig& cfg, int latency_steps, uint64_t link_bytes_per_step,
                     int total = 400, int measure = 100) {
  ResyncController c(cfg);
  std::deque<uint64_t> pipe(latency_steps, 0);
  uint64_t in_flight = 0, delivered = 0, sum = 0, backlog = 0;
  for (int i = 0; i < total; i++) {
    uint64_t budget = c.step(delivered, in_flight);
    backlog += budget;
    uint64_t sent = std::min(backlog, link_bytes_per_step);
    backlog -= sent;
    in_flight += sent;
    pipe.push_back(sent);
    delivered = pipe.front();
    pipe.pop_front();
    in_flight -= delivered;
    if (i >= total - measure) sum += delivered;
  }
  return sum / measure;
}

ResyncControlConfig dynamic() {
  ResyncControlConfig c;
  c.dynamic = true;
  c.fixed_rate_bytes_per_s = 250 * 1024;
  return c;
}

TEST(ResyncController, NeverExceedsCMaxRate) {
  ResyncControlConfig c = dynamic();
  c.max_rate_bytes_per_s = 10 << 20;  // 1 MiB per step
  c.fill_target_bytes = 64 << 20;     // wants far more
  ResyncController ctl(c);
  for (int i = 0; i < 200; i++) EXPECT_LE(ctl.step(1 << 20, 0), 1u << 20);
  EXPECT_LE(steady_rate(c, 1, 100 << 20), 1u << 20);
}

TEST(ResyncController, MoreInFlightThanTheFillTargetSlowsItDown) {
  ResyncControlConfig c = dynamic();
  c.fill_target_bytes = 8 << 20;
  ResyncController ctl(c);
  uint64_t last = 0;
  for (int i = 0; i < 30; i++) last = ctl.step(4 << 20, 32 << 20);
  EXPECT_LT(last, 4u << 20);  // sends less than arrives, to drain the excess
  ResyncController starved(c);
  uint64_t grown = 0;
  for (int i = 0; i < 30; i++) grown = starved.step(4 << 20, 0);
  EXPECT_GT(grown, 4u << 20);  // below the target: sends more than arrives
}

TEST(ResyncController, RampsUpFromTheStartRateOnAFastLink) {
  ResyncControlConfig c = dynamic();  // delay target 1 s: grows until 10 steps' worth is queued
  c.max_rate_bytes_per_s = 100 << 20;
  uint64_t r = steady_rate(c, 1, 1ull << 40);
  EXPECT_GE(r, (100u << 20) / 10 * 9 / 10);  // reaches c-max-rate
}

TEST(ResyncController, FollowsASlowLinkWithoutRunningAway) {
  ResyncControlConfig c = dynamic();
  c.max_rate_bytes_per_s = 100 << 20;
  const uint64_t link = 1 << 20;  // 10 MiB/s
  uint64_t r = steady_rate(c, 1, link);
  EXPECT_LE(r, link);
  EXPECT_GE(r, link * 9 / 10);
}

TEST(ResyncController, ResetForgetsThePlan) {
  ResyncControlConfig c = dynamic();
  c.fill_target_bytes = 8 << 20;
  ResyncController ctl(c);
  for (int i = 0; i < 50; i++) ctl.step(0, 64 << 20);  // far too much in flight: negative corrections
  ctl.reset();
  EXPECT_GT(ctl.step(0, 0), 0u);
}

TEST(ResyncController, YieldsToApplicationIoDownToCMinRate) {
  EXPECT_EQ(yield_to_application(10 << 20, 50 << 20, 1 << 20), (1u << 20) / 10);
  EXPECT_EQ(yield_to_application(10 << 20, 512 << 10, 1 << 20), 10u << 20);  // below c-min-rate: not slowed
  EXPECT_EQ(yield_to_application(10 << 20, 50 << 20, 0), 10u << 20);
}

}  // namespace
}  // namespace tandem
