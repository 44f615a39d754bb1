#include "sync_progress.h"

#include <fmt/format.h>

#include <algorithm>

namespace tandem::adm {
namespace {

// Replication states (DRBD 9's names) during which the data is not yet in sync on both sides, whichever
// side is the source: SyncSource/SyncTarget, PausedSyncS/T, StartingSyncS/T, WFSyncUUID, WFBitMapS/T.
bool resync_pending(const std::string& replication_state) {
  return replication_state.find("Sync") != std::string::npos || replication_state.starts_with("WFBitMap");
}

}  // namespace

SyncView evaluate_sync(const JsonValue& status) {
  SyncView v;
  v.connection_state = status.get_string("connections.0.connection-state");
  v.replication_state = status.get_string("connections.0.peer_devices.0.replication-state");
  v.disk_state = status.get_string("devices.0.disk-state");
  v.peer_disk_state = status.get_string("connections.0.peer_devices.0.peer-disk-state");
  v.split_brain = status.get_bool("connections.0.split-brain");
  double total = status.get_number("connections.0.peer_devices.0.resync-total");
  double done = status.get_number("connections.0.peer_devices.0.resync-done");
  v.in_sync = v.connection_state == "Connected" && v.disk_state == "UpToDate" && v.peer_disk_state == "UpToDate" &&
              !resync_pending(v.replication_state);
  if (v.in_sync) v.percent_done = 100;
  else if (total > 0) v.percent_done = done / total * 100;
  else v.percent_done = status.get_number("connections.0.peer_devices.0.percent-in-sync");
  v.percent_done = std::clamp(v.percent_done, 0.0, 100.0);
  v.rate_bytes_per_s = status.get_number("connections.0.peer_devices.0.resync-rate");
  v.eta_s = status.get_number("connections.0.peer_devices.0.resync-eta-s");
  return v;
}

std::string rate_and_time_left(const SyncView& view) {
  if (view.in_sync || view.rate_bytes_per_s <= 0) return "";
  auto s = static_cast<long long>(view.eta_s);
  return fmt::format("{:.1f} MiB/s, {}:{:02}:{:02} left", view.rate_bytes_per_s / (1024.0 * 1024.0), s / 3600,
                     s / 60 % 60, s % 60);
}

std::string progress_line(const std::string& resource, const SyncView& view, int bar_width_chars) {
  int width = std::max(bar_width_chars, 1);
  int filled = static_cast<int>(view.percent_done / 100.0 * width);
  filled = std::clamp(filled, 0, width);
  const std::string& state = view.connection_state != "Connected" || view.replication_state.empty()
                                 ? (view.connection_state.empty() ? std::string("Unknown") : view.connection_state)
                                 : view.replication_state;
  std::string rate = rate_and_time_left(view);
  return fmt::format("{} {} [{}{}] {:5.1f}% {}/{}{}{}", resource, state, std::string(static_cast<size_t>(filled), '#'),
                     std::string(static_cast<size_t>(width - filled), '.'), view.percent_done,
                     view.disk_state.empty() ? "DUnknown" : view.disk_state,
                     view.peer_disk_state.empty() ? "DUnknown" : view.peer_disk_state, rate.empty() ? "" : "  ", rate);
}

}  // namespace tandem::adm
