#include "core/states.h"

namespace tandem {

std::string_view to_string(Role r) {
  switch (r) {
    case Role::Unknown: return "Unknown";
    case Role::Secondary: return "Secondary";
    case Role::Primary: return "Primary";
  }
  return "?";
}

std::string_view to_string(DiskState d) {
  switch (d) {
    case DiskState::Diskless: return "Diskless";
    case DiskState::Failed: return "Failed";
    case DiskState::Inconsistent: return "Inconsistent";
    case DiskState::Outdated: return "Outdated";
    case DiskState::DUnknown: return "DUnknown";
    case DiskState::Consistent: return "Consistent";
    case DiskState::UpToDate: return "UpToDate";
  }
  return "?";
}

std::string_view to_string(ConnState c) {
  switch (c) {
    case ConnState::StandAlone: return "StandAlone";
    case ConnState::Connecting: return "Connecting";
    case ConnState::Connected: return "Connected";
    case ConnState::Disconnecting: return "Disconnecting";
  }
  return "?";
}

std::string_view to_string(ReplState r) {
  switch (r) {
    case ReplState::Off: return "Off";
    case ReplState::Established: return "Established";
    case ReplState::SyncSource: return "SyncSource";
    case ReplState::SyncTarget: return "SyncTarget";
    case ReplState::VerifyS: return "VerifyS";
    case ReplState::VerifyT: return "VerifyT";
  }
  return "?";
}

bool role_from_u8(uint8_t v, Role* out) {
  if (v > static_cast<uint8_t>(Role::Primary)) return false;
  *out = static_cast<Role>(v);
  return true;
}

bool disk_state_from_u8(uint8_t v, DiskState* out) {
  if (v > static_cast<uint8_t>(DiskState::UpToDate)) return false;
  *out = static_cast<DiskState>(v);
  return true;
}

}  // namespace tandem
