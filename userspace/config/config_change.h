// What `adjust` has to do to bring a running resource to its edited resource file: the differences between
// two versions of one resource, seen from one host, sorted by how they can be applied.
//
// DRBD's adjust re-attaches disks and re-creates connections as needed. tandem applies what it can to the
// running daemon: settings the core reads when it needs them at once, the connection's settings by
// re-establishing it, and refuses (changing nothing) what only `down` and `up` can change: the disks, the
// device and the node ids, which the metadata and the kernel device were set up with.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace tandem::config {

struct ConfigChange {
  std::vector<std::string> needs_down;  // cannot change while the resource is up
  std::vector<std::string> reconnect;   // the connection's settings: applied by connecting again
  std::vector<std::string> live;        // applied at once
  std::vector<std::string> next_up;     // read only when the daemon starts: kept for the next `up`
  bool empty() const { return needs_down.empty() && reconnect.empty() && live.empty() && next_up.empty(); }
};

// Each entry reads "net protocol C -> A" (secrets say only "changed"). REQUIRES: both resources have an `on`
// section named `host` (the caller checks `next`; `running` is what the daemon runs with).
ConfigChange plan_config_change(const ResourceConfig& running, const ResourceConfig& next, std::string_view host);

}  // namespace tandem::config
