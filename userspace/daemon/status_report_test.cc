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
  s.replica.suspended_user = true;  // suspend-io as well: DRBD lists the reasons
  EXPECT_EQ(format_status_text(s).rfind("r0 role:Primary suspended:user,fencing\n", 0), 0u) << format_status_text(s);
  EXPECT_NE(format_status_json(s).find("\"suspended-user\":true"), std::string::npos);
}

TEST(StatusReport, VerboseStatisticsAsDrbdadm) {
  StatusSnapshot s;
  s.resource = "r0";
  s.peer_host = "beta";
  s.node_id = 0;
  s.peer_node_id = 1;
  s.minor = 3;
  s.size_bytes = 1 << 30;
  ReplicaStatus& r = s.replica;
  r.role = Role::Primary;
  r.disk = DiskState::UpToDate;
  r.conn = ConnState::Connected;
  r.repl = ReplState::Established;
  r.peer_role = Role::Secondary;
  r.peer_disk = DiskState::UpToDate;
  r.disk_read_bytes = 8 << 10;
  r.disk_write_bytes = 64 << 20;
  r.bytes_sent = 64 << 20;
  r.al_transactions = 7;
  EXPECT_EQ(format_status_text(s, {.verbose = true, .statistics = true}),
            "r0 node-id:0 role:Primary suspended:no\n"
            "  volume:0 minor:3 disk:UpToDate\n"
            "      size:1048576 read:8 written:65536 al-writes:7 upper-pending:0\n"
            "  beta node-id:1 connection:Connected role:Secondary\n"
            "    volume:0 replication:Established peer-disk:UpToDate resync-suspended:no\n"
            "        received:0 sent:65536 out-of-sync:0\n");
  EXPECT_EQ(format_status_text(s),  // the short form is unchanged
            "r0 role:Primary\n"
            "  disk:UpToDate\n"
            "  beta role:Secondary\n"
            "    peer-disk:UpToDate\n");
  r.repl = ReplState::SyncTarget;  // held by the source's pause-sync: drbdsetup says "peer" here
  r.resync_paused = true;
  EXPECT_NE(format_status_text(s, {.verbose = true}).find("replication:PausedSyncT"), std::string::npos);
  EXPECT_NE(format_status_text(s, {.verbose = true}).find(" resync-suspended:peer\n"), std::string::npos);
  r.resync_paused = false;
  r.conn = ConnState::StandAlone;
  r.repl = ReplState::Off;
  EXPECT_EQ(format_status_text(s, {.verbose = true}),
            "r0 node-id:0 role:Primary suspended:no\n"
            "  volume:0 minor:3 disk:UpToDate\n"
            "  beta node-id:1 connection:StandAlone\n");
}

}  // namespace
}  // namespace tandem
