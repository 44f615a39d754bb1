// The kernel NBD frontend: the Linux nbd driver as the Primary's block device, served by the daemon itself.
//
//   /dev/nbdN  --(kernel nbd client)-->  socketpair  --(nbd::Connection, transmission phase only)-->  BlockTarget
//
// start() makes an AF_UNIX socketpair, serves one end on a thread of its own with the same request handling
// as the NBD export (nbd_export/nbd_connection.h, without the handshake, which the kernel skips) and hands
// the other end to the kernel: through the generic netlink family "nbd" (NBD_CMD_CONNECT, the kernel picks
// the device when `index` is -1), or, when netlink is missing or refuses, through the legacy ioctls
// (NBD_SET_SOCK ... NBD_DO_IT on a thread of its own). stop() disconnects (netlink NBD_CMD_DISCONNECT or
// NBD_DISCONNECT), then waits, bounded, for the serving thread to drain.
//
// Semantics: the kernel sees a volatile write cache (SEND_FLUSH) with FUA (SEND_FUA), and discard
// (SEND_TRIM); NBD_CMD_FLUSH becomes IoOp::Flush, NBD_CMD_FLAG_FUA becomes IoRequest::fua, NBD_CMD_TRIM
// IoOp::Trim. When the target is not writable at start() the device is read-only.
//
// Deadlock rule: nothing on the serving thread may do I/O on /dev/nbdN or issue control commands (netlink,
// ioctls, open of the device): the kernel waits for that thread's replies. Every control step here runs on
// the caller's (control) thread; the serving thread only reads the socket and calls the target. It sets
// PR_SET_IO_FLUSHER when allowed, so memory reclaim inside it does not recurse into the device.
//
// Crash leftovers: start() first disconnects any device that carries our backend identifier (netlink
// NBD_ATTR_BACKEND_IDENTIFIER, /sys/block/nbdN/backend) and whose connecting task is gone: what a killed
// previous run left connected (its socket died with that process). The identifier must be unique per node
// and resource ("tandem:RES@NODE"): two nodes may share one kernel in tests.
//
// Threading: start/stop/open_count/device_path are for one controlling thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "frontend/block_target.h"
#include "frontend/kernel_nbd/nbd_ioctl.h"
#include "frontend/nbd_export/nbd_connection.h"

namespace tandem {

enum class KernelNbdControl {
  Auto,     // Netlink, falling back to ioctls when netlink is missing or refuses.
  Netlink,  // Netlink only.
  Ioctl,    // Legacy ioctls only.
};

struct KernelNbdOptions {
  int index = -1;  // -1: let the kernel (netlink) or the free-device search (ioctl) choose.
  KernelNbdControl control = KernelNbdControl::Auto;
  uint32_t block_size_bytes = 4096;
  // Per-request timeout in the kernel. 0 (default): requests wait for as long as the replication core
  // takes, like a local disk; a timeout would mark our only socket dead and fail the device instead.
  uint32_t timeout_s = 0;
  // After the socket died (daemon killed), how long I/O waits for a reconnect before failing with EIO.
  // Netlink only.
  uint32_t dead_conn_timeout_s = 10;
  std::string backend_identifier;  // "" -> "tandem:" + resource; the daemon should add "@" + node name.
  std::chrono::milliseconds stop_timeout{10000};  // Kernel disconnect, then in-flight drain.
  uint32_t slots = 64;  // Requests in flight towards the target (the kernel keeps up to 128 queued).
};

class KernelNbdFrontend final : public BlockFrontend {
 public:
  // `target` must outlive this object.
  KernelNbdFrontend(BlockTarget& target, std::string resource, KernelNbdOptions options = {});
  ~KernelNbdFrontend() override;  // stop()

  int start(std::string* error) override;
  // Disconnects the device even when it is in use (openers then see I/O errors); bounded by stop_timeout.
  void stop() override;
  // 1 when /dev/nbdN is mounted, held or opened exclusively by someone (see nbd_device_probe.h), else 0.
  int open_count() const override;
  std::string kind() const override { return "kernel-nbd"; }
  std::string device_path() const override;  // "/dev/nbdN" while running, "" otherwise.

  // Whether the kernel still has the device connected: NBD_CMD_STATUS on the netlink path, the sysfs pid
  // file on the ioctl path. 1 yes, 0 no (e.g. disconnected behind our back), negative errno when unknown.
  int kernel_connected(std::string* error) const;
  int index() const { return index_; }          // -1 when not running.
  bool uses_netlink() const { return netlink_; }  // Which control interface connected the device.

 private:
  void clean_stale_devices();
  int connect_kernel(int kernel_fd, std::string* error);
  void stop_serving(std::chrono::steady_clock::time_point deadline);

  BlockTarget& target_;
  std::string resource_;
  KernelNbdOptions options_;
  nbd::ConnectionConfig conn_config_;
  std::unique_ptr<nbd::Connection> conn_;
  std::thread serving_thread_;
  kernel_nbd::NbdIoctlDevice ioctl_device_;
  int index_ = -1;
  bool netlink_ = false;
};

// Whether the kernel NBD frontend can work on this machine (see kernel_nbd::nbd_driver_available). For the
// daemon's automatic choice: ublk when /dev/ublk-control exists, else kernel NBD when this is true, else
// FUSE + loop.
bool kernel_nbd_available(std::string* why);

}  // namespace tandem
