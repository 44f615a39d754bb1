#include "sync_progress.h"

#include <gtest/gtest.h>

namespace tandem::adm {
namespace {

SyncView view_of(const std::string& json) {
  JsonValue v;
  std::string error;
  EXPECT_TRUE(parse_json(json, &v, &error)) << error;
  return evaluate_sync(v);
}

std::string status(const char* cstate, const char* repl, const char* disk, const char* peer_disk, int total = 0,
                   int done = 0, double pct = 0, bool split_brain = false) {
  return std::string(R"({"devices":[{"disk-state":")") + disk + R"("}],"connections":[{"connection-state":")" +
         cstate + R"(","split-brain":)" + (split_brain ? "true" : "false") +
         R"(,"peer_devices":[{"replication-state":")" + repl + R"(","peer-disk-state":")" + peer_disk +
         R"(","resync-total":)" + std::to_string(total) + R"(,"resync-done":)" + std::to_string(done) +
         R"(,"percent-in-sync":)" + std::to_string(pct) + "}]}]}";
}

TEST(SyncProgress, InSyncOnlyWhenConnectedBothUpToDateAndNoResync) {
  EXPECT_TRUE(view_of(status("Connected", "Established", "UpToDate", "UpToDate")).in_sync);
  EXPECT_FALSE(view_of(status("Connecting", "Off", "UpToDate", "DUnknown")).in_sync);
  EXPECT_FALSE(view_of(status("Connected", "SyncSource", "UpToDate", "Inconsistent")).in_sync);
  EXPECT_FALSE(view_of(status("Connected", "SyncTarget", "Inconsistent", "UpToDate")).in_sync);
  // States DRBD passes through before and while a resync runs, even if both disks still claim UpToDate.
  for (const char* s : {"StartingSyncS", "PausedSyncT", "WFBitMapS", "WFSyncUUID", "SyncSource"})
    EXPECT_FALSE(view_of(status("Connected", s, "UpToDate", "UpToDate")).in_sync) << s;
  EXPECT_FALSE(view_of(status("Connected", "Established", "UpToDate", "Outdated")).in_sync);
  EXPECT_FALSE(view_of("{}").in_sync);
}

TEST(SyncProgress, PercentFromResyncCountersElsePercentInSync) {
  EXPECT_DOUBLE_EQ(view_of(status("Connected", "SyncTarget", "Inconsistent", "UpToDate", 1000, 250, 90)).percent_done,
                   25.0);
  EXPECT_DOUBLE_EQ(view_of(status("Connected", "SyncTarget", "Inconsistent", "UpToDate", 0, 0, 12.5)).percent_done,
                   12.5);
  EXPECT_DOUBLE_EQ(view_of(status("Connected", "Established", "UpToDate", "UpToDate", 0, 0, 3)).percent_done, 100);
  EXPECT_DOUBLE_EQ(view_of(status("Connected", "SyncTarget", "Inconsistent", "UpToDate", 10, 20)).percent_done, 100);
}

TEST(SyncProgress, SplitBrainIsReported) {
  EXPECT_TRUE(view_of(status("StandAlone", "Off", "UpToDate", "DUnknown", 0, 0, 0, true)).split_brain);
}

TEST(SyncProgress, ProgressLine) {
  SyncView v = view_of(status("Connected", "SyncTarget", "Inconsistent", "UpToDate", 100, 50));
  EXPECT_EQ(progress_line("r0", v, 10), "r0 SyncTarget [#####.....]  50.0% Inconsistent/UpToDate");
  SyncView c = view_of(R"({"connections":[{"connection-state":"Connecting"}]})");
  EXPECT_EQ(progress_line("r0", c, 4), "r0 Connecting [....]   0.0% DUnknown/DUnknown");
}

TEST(SyncProgress, RateAndTimeLeftWhileTheSourceMeasuresThem) {
  SyncView v = view_of(R"({"devices":[{"disk-state":"UpToDate"}],"connections":[{"connection-state":"Connected",
      "peer_devices":[{"replication-state":"SyncSource","peer-disk-state":"Inconsistent","resync-total":100,
      "resync-done":25,"resync-rate":20971520,"resync-eta-s":3725}]}]})");
  EXPECT_EQ(rate_and_time_left(v), "20.0 MiB/s, 1:02:05 left");
  EXPECT_EQ(progress_line("r0", v, 4), "r0 SyncSource [#...]  25.0% UpToDate/Inconsistent  20.0 MiB/s, 1:02:05 left");
  v.rate_bytes_per_s = 0;
  EXPECT_EQ(rate_and_time_left(v), "");
}

}  // namespace
}  // namespace tandem::adm
