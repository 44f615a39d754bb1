#include "frontend/kernel_nbd/kernel_nbd_frontend.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/log.h"
#include "common/unique_fd.h"
#include "frontend/kernel_nbd/nbd_device_probe.h"
#include "frontend/kernel_nbd/nbd_netlink.h"
#include "frontend/nbd_export/nbd_handshake.h"
#include "frontend/nbd_export/nbd_protocol.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57  // Linux 5.6.
#endif

namespace tandem {

namespace {

// Memory reclaim inside the serving thread must not wait for writeback to the device that thread serves.
// Needs CAP_SYS_RESOURCE; without it the thread still works, with that (small) risk under memory pressure.
void set_io_flusher(const std::string& resource) {
  if (::prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) != 0) {
    log_debug("resource {}: PR_SET_IO_FLUSHER not set on the nbd serving thread: {}", resource,
              std::strerror(errno));
  }
}

}  // namespace

KernelNbdFrontend::KernelNbdFrontend(BlockTarget& target, std::string resource, KernelNbdOptions options)
    : target_(target), resource_(std::move(resource)), options_(std::move(options)) {
  if (options_.backend_identifier.empty()) options_.backend_identifier = "tandem:" + resource_;
  conn_config_.skip_handshake = true;
  conn_config_.slots = options_.slots;
  // The kernel reads every reply it is owed; a stalled socket means the device is being torn down.
  conn_config_.send_timeout_ms = 0;
}

KernelNbdFrontend::~KernelNbdFrontend() { stop(); }

void KernelNbdFrontend::clean_stale_devices() {
  for (int index : kernel_nbd::nbd_devices_with_backend(options_.backend_identifier)) {
    // Only a device whose connecting task is gone is a leftover; a live one belongs to another running
    // daemon (e.g. two nodes in network namespaces of one kernel) and is none of our business.
    int pid = kernel_nbd::nbd_device_pid(index);
    if (pid > 0 && ::access(fmt::format("/proc/{}", pid).c_str(), F_OK) == 0) {
      log_warn("resource {}: /dev/nbd{} carries our backend identifier \"{}\" but task {} that connected it is "
               "alive; leaving it alone", resource_, index, options_.backend_identifier, pid);
      continue;
    }
    log_warn("resource {}: /dev/nbd{} is still connected for \"{}\" (left by a previous run); disconnecting it",
             resource_, index, options_.backend_identifier);
    std::string error;
    if (kernel_nbd::nbd_netlink_disconnect(index, &error) != 0) log_warn("resource {}: {}", resource_, error);
  }
}

int KernelNbdFrontend::connect_kernel(int kernel_fd, std::string* error) {
  uint64_t block = options_.block_size_bytes;
  uint64_t size_bytes = target_.size_bytes() / block * block;
  // One socket, so CAN_MULTI_CONN means nothing to the kernel; everything else is what the export offers.
  uint16_t flags = nbd::transmission_flags_for(target_.writable()) & ~nbd::kTxCanMultiConn;
  std::string netlink_error;
  if (options_.control != KernelNbdControl::Ioctl) {
    kernel_nbd::NetlinkConnectParams p;
    p.index = options_.index;
    p.size_bytes = size_bytes;
    p.block_size_bytes = block;
    p.server_flags = flags;
    p.timeout_s = options_.timeout_s;
    p.dead_conn_timeout_s = options_.dead_conn_timeout_s;
    p.backend_identifier = options_.backend_identifier;
    p.socket_fds = {kernel_fd};
    int index = kernel_nbd::nbd_netlink_connect(p, &netlink_error);
    if (index >= 0) {
      netlink_ = true;
      return index;
    }
    if (options_.control == KernelNbdControl::Netlink) {
      *error = fmt::format("resource {}: {}", resource_, netlink_error);
      return index;
    }
    log_warn("resource {}: {}; falling back to the legacy nbd ioctls", resource_, netlink_error);
  }
  kernel_nbd::IoctlConnectParams p;
  p.index = options_.index;
  p.size_bytes = size_bytes;
  p.block_size_bytes = options_.block_size_bytes;
  p.server_flags = flags;
  p.timeout_s = options_.timeout_s;
  p.socket_fd = kernel_fd;
  std::string ioctl_error;
  int index = ioctl_device_.start(p, &ioctl_error);
  if (index < 0) {
    *error = netlink_error.empty()
                 ? fmt::format("resource {}: {}", resource_, ioctl_error)
                 : fmt::format("resource {}: {}; {}", resource_, netlink_error, ioctl_error);
    return index;
  }
  netlink_ = false;
  return index;
}

int KernelNbdFrontend::start(std::string* error) {
  if (conn_ != nullptr) {
    *error = fmt::format("resource {}: the kernel-nbd frontend is already running on {}", resource_,
                         device_path());
    return -EALREADY;
  }
  if (target_.size_bytes() < options_.block_size_bytes) {
    *error = fmt::format("resource {}: the device ({} bytes) is smaller than one {}-byte block", resource_,
                         target_.size_bytes(), options_.block_size_bytes);
    return -EINVAL;
  }
  clean_stale_devices();
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    int e = errno;
    *error = fmt::format("resource {}: socketpair: {}", resource_, std::strerror(e));
    return -e;
  }
  UniqueFd ours(sv[0]);
  UniqueFd theirs(sv[1]);
  // Serve before connecting: the kernel may read (partition table) as soon as the device exists.
  conn_ = std::make_unique<nbd::Connection>(std::move(ours), &target_, &conn_config_, "kernel-nbd " + resource_);
  serving_thread_ = std::thread([conn = conn_.get(), resource = resource_] {
    set_io_flusher(resource);
    conn->run();
  });
  int index = connect_kernel(theirs.get(), error);
  theirs.reset();  // The kernel holds its own reference to its end.
  if (index < 0) {
    stop_serving(std::chrono::steady_clock::now() + options_.stop_timeout);
    return index;
  }
  index_ = index;
  log_info("resource {}: kernel-nbd frontend on /dev/nbd{} ({} bytes, via {})", resource_, index_,
           target_.size_bytes() / options_.block_size_bytes * options_.block_size_bytes,
           netlink_ ? "netlink" : "ioctl");
  return 0;
}

void KernelNbdFrontend::stop_serving(std::chrono::steady_clock::time_point deadline) {
  conn_->request_stop(deadline);
  serving_thread_.join();  // run() returns by the deadline at the latest.
  if (!conn_->drained()) {
    // A late completion would touch the connection: keep it alive (see nbd_connection.h).
    log_error("resource {}: the target still holds requests after the stop deadline; leaking the connection",
              resource_);
    (void)conn_.release();
  }
  conn_.reset();
}

void KernelNbdFrontend::stop() {
  if (conn_ == nullptr) return;
  auto deadline = std::chrono::steady_clock::now() + options_.stop_timeout;
  if (netlink_) {
    std::string error;
    if (kernel_nbd::nbd_netlink_disconnect(index_, &error) != 0) {
      log_error("resource {}: {}; /dev/nbd{} stays configured until its dead-connection timeout", resource_,
                error, index_);
    }
  } else {
    ioctl_device_.stop(options_.stop_timeout);
  }
  stop_serving(deadline);
  log_info("resource {}: kernel-nbd frontend on /dev/nbd{} stopped", resource_, index_);
  index_ = -1;
  netlink_ = false;
}

int KernelNbdFrontend::open_count() const {
  if (index_ < 0) return 0;
  std::string why;
  int busy = kernel_nbd::nbd_device_busy(index_, &why);
  if (busy < 0) {
    // Cannot tell: say "in use", since the caller would otherwise demote a device someone may be using.
    log_warn("resource {}: busy probe failed ({}); reporting the device as in use", resource_, why);
    return 1;
  }
  return busy;
}

int KernelNbdFrontend::kernel_connected(std::string* error) const {
  if (index_ < 0) return 0;
  if (netlink_) return kernel_nbd::nbd_netlink_status(index_, error);
  return kernel_nbd::nbd_device_connected(index_) ? 1 : 0;
}

std::string KernelNbdFrontend::device_path() const {
  return index_ >= 0 ? fmt::format("/dev/nbd{}", index_) : std::string();
}

bool kernel_nbd_available(std::string* why) { return kernel_nbd::nbd_driver_available(why); }

}  // namespace tandem
