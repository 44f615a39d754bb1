// The kernel NBD driver's legacy ioctl interface (include/uapi/linux/nbd.h): the fallback when the "nbd"
// generic netlink family is missing or refuses CONNECT.
//
// The ioctl protocol ties the connection to one open file and one blocked thread: NBD_DO_IT returns only
// when the device disconnects, so it runs on a thread of its own ("nbd-doit"), which does no I/O on the
// device itself. stop() asks the kernel to disconnect (NBD_DISCONNECT), waits for that thread with a bound,
// then clears the socket and closes the device.
// Threading: start/stop/index are for one controlling thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace tandem::kernel_nbd {

struct IoctlConnectParams {
  int index = -1;                    // -1: the first /dev/nbdN that is not in use.
  int max_devices = 256;             // Bound on the search for a free device.
  uint64_t size_bytes = 0;           // Rounded down to a whole number of blocks.
  uint32_t block_size_bytes = 4096;
  uint32_t server_flags = 0;         // NBD transmission flags.
  uint32_t timeout_s = 0;            // 0: not set (requests never time out).
  int socket_fd = -1;                // The kernel takes its own reference.
};

class NbdIoctlDevice {
 public:
  NbdIoctlDevice();
  ~NbdIoctlDevice();  // stop()
  NbdIoctlDevice(const NbdIoctlDevice&) = delete;
  NbdIoctlDevice& operator=(const NbdIoctlDevice&) = delete;

  // Configures a device and starts NBD_DO_IT. Returns the index or a negative errno with *error filled in.
  int start(const IoctlConnectParams& params, std::string* error);
  // Disconnects and releases the device; waits at most `timeout` for the kernel to let go of NBD_DO_IT.
  void stop(std::chrono::milliseconds timeout);
  int index() const { return index_; }

 private:
  struct DoItState;  // Shared with the NBD_DO_IT thread, which may outlive a timed-out stop().
  int configure(int index, const IoctlConnectParams& params, std::string* error);

  int index_ = -1;
  std::shared_ptr<DoItState> state_;
};

}  // namespace tandem::kernel_nbd
