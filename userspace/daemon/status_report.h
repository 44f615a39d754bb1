// `status` output in the shapes DRBD users know: drbdadm-status text and a drbdsetup-status-like JSON object.
// Pure formatting of a snapshot; see docs/control-protocol.md for both formats.
#pragma once

#include <string>

#include "core/replica.h"

namespace tandem {

struct StatusSnapshot {
  std::string resource;
  std::string host;
  std::string peer_host;
  uint32_t node_id = 0;
  uint32_t peer_node_id = 1;
  uint64_t size_bytes = 0;
  std::string frontend_kind;    // "ublk", "kernel-nbd" or "fuse-loop" while Primary, else ""
  std::string frontend_device;  // "/dev/ublkb0", "/dev/nbd0", "/dev/loop3"
  std::string device_link;      // the config's device path, when the link exists
  std::string ublk_opcodes;     // "legacy" or "ioctl": the opcode encoding of a ublk device
  std::string ublk_orphan;      // what happens to a crashed run's ublk device, if there is one
  std::string nbd_socket;
  char protocol = 'C';
  int minor = -1;  // the config's device minor (-1: none given)
  ReplicaStatus replica;
};

// drbdadm status --verbose (node ids, volume and minor, suspended:, resync-suspended:) and --statistics (KiB
// counters: size, read, written, al-writes, upper-pending; per peer received, sent, out-of-sync). Without
// either, the short form.
struct StatusTextOptions {
  bool verbose = false;
  bool statistics = false;
};

std::string format_status_text(const StatusSnapshot& s, StatusTextOptions o = {});
std::string format_status_json(const StatusSnapshot& s);
// Percentage of the peer's data in sync, as DRBD's done: field (100 when nothing is out of sync).
double percent_in_sync(const StatusSnapshot& s);

}  // namespace tandem
