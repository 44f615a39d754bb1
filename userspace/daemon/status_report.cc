#include "daemon/status_report.h"

#include <fmt/format.h>

namespace tandem {

namespace {

std::string json_escape(const std::string& in) {
  std::string out;
  for (char c : in) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\u{:04x}", c);
        else
          out += c;
    }
  }
  return out;
}

bool syncing(const ReplicaStatus& r) { return r.repl == ReplState::SyncSource || r.repl == ReplState::SyncTarget; }

// DRBD's names: PausedSyncS / PausedSyncT while the source holds the resync.
std::string replication_state_name(const ReplicaStatus& r) {
  if (r.resync_paused && r.repl == ReplState::SyncSource) return "PausedSyncS";
  if (r.resync_paused && r.repl == ReplState::SyncTarget) return "PausedSyncT";
  return std::string(to_string(r.repl));
}

// Seconds until the resync is done at the rate measured on the sync source; 0 when unknown.
uint64_t resync_seconds_left(const ReplicaStatus& r) {
  if (r.resync_rate_bytes_per_s == 0 || r.resync_total_bytes <= r.resync_done_bytes) return 0;
  return (r.resync_total_bytes - r.resync_done_bytes) / r.resync_rate_bytes_per_s;
}

}  // namespace

double percent_in_sync(const StatusSnapshot& s) {
  const ReplicaStatus& r = s.replica;
  if (syncing(r) && r.resync_total_bytes > 0) {
    double left = static_cast<double>(r.resync_total_bytes - std::min(r.resync_done_bytes, r.resync_total_bytes));
    return 100.0 * (1.0 - left / static_cast<double>(s.size_bytes ? s.size_bytes : 1));
  }
  if (s.size_bytes == 0) return 100.0;
  return 100.0 * (1.0 - static_cast<double>(r.out_of_sync_bytes) / static_cast<double>(s.size_bytes));
}

std::string format_status_text(const StatusSnapshot& s, StatusTextOptions o) {
  const ReplicaStatus& r = s.replica;
  const bool v = o.verbose || o.statistics;
  // As DRBD: the reasons, comma-separated.
  std::string suspended = r.suspended_user ? "user" : "";
  if (r.suspended_fencing) suspended += suspended.empty() ? "fencing" : ",fencing";
  std::string out = fmt::format("{}{} role:{}", s.resource, v ? fmt::format(" node-id:{}", s.node_id) : "",
                                to_string(r.role));
  if (!suspended.empty()) out += fmt::format(" suspended:{}", suspended);
  else if (v) out += " suspended:no";
  out += v ? fmt::format("\n  volume:0{} disk:{}", s.minor >= 0 ? fmt::format(" minor:{}", s.minor) : "",
                         to_string(r.disk))
           : fmt::format("\n  disk:{}", to_string(r.disk));
  // The Primary's kernel device and the frontend behind it, as `key:value` pairs on the volume line (where
  // drbdsetup status --verbose puts minor:).
  if (!s.frontend_kind.empty()) out += fmt::format(" device:{} frontend:{}", s.frontend_device, s.frontend_kind);
  if (!s.ublk_opcodes.empty()) out += fmt::format(" opcodes:{}", s.ublk_opcodes);
  out += "\n";
  if (o.statistics)
    out += fmt::format("      size:{} read:{} written:{} al-writes:{} upper-pending:{}\n", s.size_bytes / 1024,
                       r.disk_read_bytes / 1024, r.disk_write_bytes / 1024, r.al_transactions, r.app_writes_in_flight);
  if (!s.ublk_orphan.empty()) out += fmt::format("  crashed-run: {}\n", s.ublk_orphan);
  const std::string peer = v ? fmt::format("{} node-id:{}", s.peer_host, s.peer_node_id) : s.peer_host;
  if (r.conn != ConnState::Connected || r.repl == ReplState::Off) {
    out += fmt::format("  {} connection:{}{}\n", peer,
                       r.conn == ConnState::Connected ? "Connecting" : std::string(to_string(r.conn)),
                       r.suspended_split_brain ? " (split-brain)" : "");
    return out;
  }
  out += fmt::format("  {}{} role:{}\n", peer, v ? " connection:Connected" : "", to_string(r.peer_role));
  const std::string indent = v ? "    volume:0 " : "    ";
  std::string line;
  if (syncing(r)) {
    double done = r.resync_total_bytes ? 100.0 * static_cast<double>(r.resync_done_bytes) /
                                             static_cast<double>(r.resync_total_bytes)
                                       : 100.0;
    std::string repl = replication_state_name(r);
    line = fmt::format("replication:{} peer-disk:{} done:{:.2f}", repl, to_string(r.peer_disk), std::min(done, 100.0));
    // Measured on the sync source: speed and time left, as /proc/drbd's "speed:" and "finish:".
    if (r.resync_rate_bytes_per_s > 0 && !r.resync_paused && r.resync_total_bytes > r.resync_done_bytes) {
      uint64_t left = resync_seconds_left(r);
      line += fmt::format(" speed:{}K/s finish:{}:{:02}:{:02}", r.resync_rate_bytes_per_s / 1024, left / 3600,
                          left / 60 % 60, left % 60);
    }
  } else if (r.repl == ReplState::VerifyS) {
    double done = r.verify_total_bytes ? 100.0 * static_cast<double>(r.verify_done_bytes) /
                                             static_cast<double>(r.verify_total_bytes)
                                       : 100.0;
    line = fmt::format("replication:VerifyS peer-disk:{} done:{:.2f}", to_string(r.peer_disk), done);
  } else if (r.repl == ReplState::VerifyT) {
    line = fmt::format("replication:VerifyT peer-disk:{}", to_string(r.peer_disk));
  } else if (v) {
    line = fmt::format("replication:{} peer-disk:{}", replication_state_name(r), to_string(r.peer_disk));
  } else {
    line = fmt::format("peer-disk:{}", to_string(r.peer_disk));
  }
  // As drbdsetup: "user" where pause-sync was given (the source), "peer" on the target it holds.
  if (v)
    line += fmt::format(" resync-suspended:{}", !r.resync_paused                ? "no"
                                                : r.repl == ReplState::SyncTarget ? "peer"
                                                                                  : "user");
  out += indent + line + "\n";
  if (o.statistics)
    out += fmt::format("        received:{} sent:{} out-of-sync:{}\n", r.bytes_received / 1024, r.bytes_sent / 1024,
                       r.out_of_sync_bytes / 1024);
  return out;
}

std::string format_status_json(const StatusSnapshot& s) {
  const ReplicaStatus& r = s.replica;
  std::string history;
  for (uint64_t h : r.ids.history) {
    if (!history.empty()) history += ",";
    history += fmt::format("\"{:016X}\"", h);
  }
  std::string conn_state = r.conn == ConnState::Connected && r.repl == ReplState::Off
                               ? "Connecting"
                               : std::string(to_string(r.conn));
  return fmt::format(
      "{{\"name\":\"{}\",\"node-id\":{},\"host\":\"{}\",\"role\":\"{}\",\"protocol\":\"{}\","
      "\"suspended\":{},\"suspended-user\":{},\"fencing-in-progress\":{},"
      "\"frontend\":{{\"kind\":\"{}\",\"device\":\"{}\",\"link\":\"{}\",\"nbd-socket\":\"{}\","
      "\"opcodes\":\"{}\",\"crashed-run\":\"{}\"}},"
      "\"devices\":[{{\"volume\":0,\"disk-state\":\"{}\",\"size\":{},\"read\":{},\"written\":{},"
      "\"al-writes\":{},\"al-extents\":{},\"al-active\":{},\"al-waits\":{}}}],"
      "\"connections\":[{{\"peer-node-id\":{},\"name\":\"{}\",\"connection-state\":\"{}\",\"peer-role\":\"{}\","
      "\"split-brain\":{},\"last-handshake\":\"{}\",\"peer_devices\":[{{\"volume\":0,\"replication-state\":\"{}\","
      "\"peer-disk-state\":\"{}\",\"percent-in-sync\":{:.2f},\"out-of-sync\":{},\"sent\":{},\"received\":{},"
      "\"resync-total\":{},\"resync-done\":{},\"resync-sent\":{},\"resync-received\":{},\"resync-csum-equal\":{},"
      "\"verify-total\":{},\"verify-done\":{},\"verify-out-of-sync\":{},\"resync-paused\":{},"
      "\"resync-rate\":{},\"resync-eta-s\":{}}}]}}],"
      "\"generation\":{{\"current\":\"{:016X}\",\"bitmap\":\"{:016X}\",\"history\":[{}]}}}}\n",
      json_escape(s.resource), s.node_id, json_escape(s.host), to_string(r.role), s.protocol,
      r.suspended_fencing || r.suspended_user ? "true" : "false", r.suspended_user ? "true" : "false",
      r.fencing_in_progress ? "true" : "false",
      json_escape(s.frontend_kind), json_escape(s.frontend_device), json_escape(s.device_link),
      json_escape(s.nbd_socket), json_escape(s.ublk_opcodes), json_escape(s.ublk_orphan), to_string(r.disk), s.size_bytes, r.disk_read_bytes, r.disk_write_bytes,
      r.al_transactions, r.al_extents, r.al_active, r.al_waits,
      s.peer_node_id, json_escape(s.peer_host), conn_state, to_string(r.peer_role),
      r.suspended_split_brain ? "true" : "false", json_escape(r.last_decision), replication_state_name(r),
      to_string(r.peer_disk), percent_in_sync(s), r.out_of_sync_bytes, r.bytes_sent, r.bytes_received,
      r.resync_total_bytes, r.resync_done_bytes, r.resync_bytes_sent, r.resync_bytes_received, r.resync_csum_equal_bytes, r.verify_total_bytes,
      r.verify_done_bytes, r.verify_out_of_sync_bytes, r.resync_paused ? "true" : "false", r.resync_rate_bytes_per_s,
      resync_seconds_left(r),
      r.ids.current,
      r.ids.bitmap, history);
}

}  // namespace tandem
