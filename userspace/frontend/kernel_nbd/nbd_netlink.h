// The kernel NBD driver's generic netlink family "nbd" (include/uapi/linux/nbd-netlink.h), through libnl-genl.
//
// Every call opens its own short-lived netlink socket: these are rare control operations (connect at start,
// disconnect at stop, status on demand) and a private socket keeps them independent of each other's threads.
// All need CAP_SYS_ADMIN except nbd_netlink_family_present().
// Deadlock rule (see docs/kernel-frontends.md): never call these from a thread that serves the device's
// socket. DISCONNECT waits in the kernel for the receive workers, which wait for our replies.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tandem::kernel_nbd {

struct NetlinkConnectParams {
  int index = -1;                    // -1: the kernel picks a free /dev/nbdN (or creates one).
  uint64_t size_bytes = 0;
  uint64_t block_size_bytes = 4096;  // 6.1 defaults to 1024 when absent: always sent.
  uint64_t server_flags = 0;         // NBD transmission flags (nbd_protocol.h kTx...).
  uint64_t timeout_s = 0;            // Per-request timeout; 0: requests never time out.
  uint64_t dead_conn_timeout_s = 0;  // How long I/O waits for a RECONFIGURE after the socket died.
  std::string backend_identifier;    // Shown in /sys/block/nbdN/backend; "" to leave it unset.
  std::vector<int> socket_fds;       // At least one; the kernel takes its own reference.
};

// NBD_CMD_CONNECT. Returns the device index (>= 0) or a negative errno with *error filled in.
int nbd_netlink_connect(const NetlinkConnectParams& params, std::string* error);

// NBD_CMD_DISCONNECT: the kernel sends NBD_CMD_DISC, shuts its sockets down and waits for its receive
// workers. Returns 0 or a negative errno.
int nbd_netlink_disconnect(int index, std::string* error);

// NBD_CMD_STATUS for one device: 1 connected, 0 not connected, negative errno on failure (-ENOENT: no such
// device).
int nbd_netlink_status(int index, std::string* error);

// Whether the generic netlink family "nbd" resolves (the driver is loaded or built in). Needs no privilege.
bool nbd_netlink_family_present(std::string* why);

}  // namespace tandem::kernel_nbd
