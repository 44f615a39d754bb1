// Roles, disk, connection and replication states, named as DRBD names them (users read these in `status`).
#pragma once

#include <cstdint>
#include <string_view>

namespace tandem {

enum class Role : uint8_t { Unknown = 0, Secondary = 1, Primary = 2 };
// Ordered: a larger value is "better" data, as in DRBD.
enum class DiskState : uint8_t {
  Diskless = 0,
  Failed = 1,
  Inconsistent = 2,
  Outdated = 3,
  DUnknown = 4,
  Consistent = 5,
  UpToDate = 6,
};
enum class ConnState : uint8_t { StandAlone = 0, Connecting = 1, Connected = 2, Disconnecting = 3 };
enum class ReplState : uint8_t { Off = 0, Established = 1, SyncSource = 2, SyncTarget = 3, VerifyS = 4, VerifyT = 5 };

std::string_view to_string(Role r);
std::string_view to_string(DiskState d);
std::string_view to_string(ConnState c);
std::string_view to_string(ReplState r);

// For decoding: returns false on an out-of-range wire value.
bool role_from_u8(uint8_t v, Role* out);
bool disk_state_from_u8(uint8_t v, DiskState* out);

}  // namespace tandem
