// The text status names the Primary's kernel device and its frontend on the volume line, and only then.
#include "daemon/status_report.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

TEST(StatusReport, TextNamesDeviceAndFrontendWhilePrimary) {
  StatusSnapshot s;
  s.resource = "r0";
  s.peer_host = "beta";
  s.size_bytes = 1 << 20;
  std::string plain = format_status_text(s);
  EXPECT_NE(plain.find("\n  disk:"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("device:"), std::string::npos) << plain;
  s.frontend_kind = "ublk";
  s.frontend_device = "/dev/ublkb0";
  std::string text = format_status_text(s);
  EXPECT_NE(text.find(" device:/dev/ublkb0 frontend:ublk\n"), std::string::npos) << text;
  std::string json = format_status_json(s);
  EXPECT_NE(json.find("\"frontend\":{\"kind\":\"ublk\",\"device\":\"/dev/ublkb0\""), std::string::npos) << json;
  s.ublk_opcodes = "legacy";  // which ublk opcode encoding the device uses
  text = format_status_text(s);
  EXPECT_NE(text.find(" device:/dev/ublkb0 frontend:ublk opcodes:legacy\n"), std::string::npos) << text;
  json = format_status_json(s);
  EXPECT_NE(json.find("\"opcodes\":\"legacy\""), std::string::npos) << json;
}

TEST(StatusReport, CrashedRunUblkDeviceGetsItsOwnLine) {
  StatusSnapshot s;
  s.resource = "r0";
  s.peer_host = "beta";
  EXPECT_EQ(format_status_text(s).find("crashed-run"), std::string::npos);
  s.ublk_orphan = "/dev/ublkb2 of a crashed run: its I/O waits";
  std::string text = format_status_text(s);
  EXPECT_NE(text.find("\n  crashed-run: /dev/ublkb2 of a crashed run: its I/O waits\n"), std::string::npos) << text;
  std::string json = format_status_json(s);
  EXPECT_NE(json.find("\"crashed-run\":\"/dev/ublkb2 of a crashed run: its I/O waits\"}"), std::string::npos)
      << json;
}

TEST(StatusReport, SyncLineShowsDoneSpeedAndFinishLikeDrbd) {
  StatusSnapshot s;
  s.resource = "r0";
  s.peer_host = "beta";
  s.size_bytes = 100 << 20;
  ReplicaStatus& r = s.replica;
  r.role = Role::Primary;
  r.disk = DiskState::UpToDate;
  r.conn = ConnState::Connected;
  r.repl = ReplState::SyncSource;
  r.peer_role = Role::Secondary;
  r.peer_disk = DiskState::Inconsistent;
  r.resync_total_bytes = 100 << 20;
  r.resync_done_bytes = 40 << 20;
  r.resync_rate_bytes_per_s = 10 << 20;
  std::string text = format_status_text(s);
  EXPECT_NE(text.find("replication:SyncSource peer-disk:Inconsistent done:40.00 speed:10240K/s finish:0:00:06\n"),
            std::string::npos)
      << text;
  r.resync_paused = true;
  text = format_status_text(s);
  EXPECT_NE(text.find("replication:PausedSyncS peer-disk:Inconsistent done:40.00\n"), std::string::npos) << text;
  r.repl = ReplState::SyncTarget;
  EXPECT_NE(format_status_text(s).find("replication:PausedSyncT"), std::string::npos);
  std::string json = format_status_json(s);
  EXPECT_NE(json.find("\"replication-state\":\"PausedSyncT\""), std::string::npos) << json;
}

TEST(StatusReport, FrozenWritesShowAsSuspendedFencing) {
  StatusSnapshot s;
  s.resource = "r0";
  s.peer_host = "beta";
  s.replica.role = Role::Primary;
  s.replica.suspended_fencing = true;
  EXPECT_EQ(format_status_text(s).rfind("r0 role:Primary suspended:fencing\n", 0), 0u) << format_status_text(s);
  EXPECT_NE(format_status_json(s).find("\"suspended\":true"), std::string::npos);
}

}  // namespace
}  // namespace tandem
