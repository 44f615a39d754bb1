// What wait-sync reads from a `status-json` object (docs/control-protocol.md) and how it shows progress.
// Pure; unit-tested with literal JSON.
#pragma once

#include <string>

#include "json_extract.h"

namespace tandem::adm {

struct SyncView {
  std::string connection_state;   // connections[0].connection-state, "" when absent
  std::string replication_state;  // connections[0].peer_devices[0].replication-state
  std::string disk_state;         // devices[0].disk-state
  std::string peer_disk_state;    // connections[0].peer_devices[0].peer-disk-state
  bool split_brain = false;
  double percent_done = 0;        // resync-done/resync-total when a resync is counted, else percent-in-sync
  // Connected, both disks UpToDate, and no resync running or about to start on this side.
  bool in_sync = false;
};

SyncView evaluate_sync(const JsonValue& status);

// One line for a terminal, no newline: "r0 SyncTarget [#######.............]  35.0% UpToDate/Inconsistent".
std::string progress_line(const std::string& resource, const SyncView& view, int bar_width_chars);

}  // namespace tandem::adm
