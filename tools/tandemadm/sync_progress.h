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
  double rate_bytes_per_s = 0;  // resync-rate (measured on the sync source), 0 when unknown
  double eta_s = 0;             // resync-eta-s
};

SyncView evaluate_sync(const JsonValue& status);

// "20.0 MiB/s, 0:01:05 left", or "" without a measured rate.
std::string rate_and_time_left(const SyncView& view);

// One line for a terminal, no newline: "r0 SyncSource [#######.............]  35.0% UpToDate/Inconsistent",
// followed by the rate and the time left while the source measures them.
std::string progress_line(const std::string& resource, const SyncView& view, int bar_width_chars);

}  // namespace tandem::adm
