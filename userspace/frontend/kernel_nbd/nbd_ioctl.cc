#include "frontend/kernel_nbd/nbd_ioctl.h"

#include <fcntl.h>
#include <linux/nbd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "common/log.h"
#include "common/unique_fd.h"

namespace tandem::kernel_nbd {

struct NbdIoctlDevice::DoItState {
  UniqueFd fd;  // /dev/nbdN, open for the whole connection: the ioctl protocol is bound to it.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;    // GUARDED_BY(mu): NBD_DO_IT returned.
  int doit_result = 0;  // GUARDED_BY(mu)
};

namespace {

std::string device_path(int index) { return fmt::format("/dev/nbd{}", index); }

// A device whose pid file exists is connected (by anyone, through either interface).
bool sysfs_in_use(int index) {
  return ::access(fmt::format("/sys/block/nbd{}/pid", index).c_str(), F_OK) == 0;
}

bool sysfs_exists(int index) { return ::access(fmt::format("/sys/block/nbd{}", index).c_str(), F_OK) == 0; }

}  // namespace

NbdIoctlDevice::NbdIoctlDevice() = default;

NbdIoctlDevice::~NbdIoctlDevice() { stop(std::chrono::milliseconds(5000)); }

int NbdIoctlDevice::configure(int index, const IoctlConnectParams& params, std::string* error) {
  std::string path = device_path(index);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) {
    int e = errno;
    *error = fmt::format("{}: open: {}", path, std::strerror(e));
    return -e;
  }
  auto step = [&](unsigned long request, unsigned long arg, const char* name) -> int {
    if (::ioctl(fd.get(), request, arg) == 0) return 0;
    int e = errno;
    *error = fmt::format("{}: {}: {}", path, name, std::strerror(e));
    return -e;
  };
  // SET_SOCK first: it is the call that fails with EBUSY on a device someone else configures (ioctl or
  // netlink), before we changed anything of theirs.
  if (int rc = step(NBD_SET_SOCK, static_cast<unsigned long>(params.socket_fd), "NBD_SET_SOCK"); rc != 0) {
    return rc;
  }
  int rc = step(NBD_SET_BLKSIZE, params.block_size_bytes, "NBD_SET_BLKSIZE");
  if (rc == 0) rc = step(NBD_SET_SIZE_BLOCKS, params.size_bytes / params.block_size_bytes, "NBD_SET_SIZE_BLOCKS");
  if (rc == 0) rc = step(NBD_SET_FLAGS, params.server_flags, "NBD_SET_FLAGS");
  if (rc == 0 && params.timeout_s > 0) rc = step(NBD_SET_TIMEOUT, params.timeout_s, "NBD_SET_TIMEOUT");
  if (rc != 0) {
    ::ioctl(fd.get(), NBD_CLEAR_SOCK);
    return rc;
  }
  auto state = std::make_shared<DoItState>();
  state->fd = std::move(fd);
  std::thread([state, path] {
    int rc = ::ioctl(state->fd.get(), NBD_DO_IT) == 0 ? 0 : -errno;
    if (rc != 0) log_info("{}: NBD_DO_IT returned: {}", path, std::strerror(-rc));
    std::lock_guard<std::mutex> lock(state->mu);
    state->done = true;
    state->doit_result = rc;
    state->cv.notify_all();
  }).detach();  // Joined through `done`: a thread stuck in the kernel must not block stop() forever.
  state_ = std::move(state);
  return 0;
}

int NbdIoctlDevice::start(const IoctlConnectParams& params, std::string* error) {
  if (params.socket_fd < 0 || params.block_size_bytes == 0 || params.size_bytes < params.block_size_bytes) {
    *error = "nbd ioctl: connect needs a socket and a size of at least one block";
    return -EINVAL;
  }
  if (params.size_bytes % params.block_size_bytes != 0) {
    log_warn("nbd ioctl: size {} is not a multiple of the {}-byte block; the device is rounded down",
             params.size_bytes, params.block_size_bytes);
  }
  if (params.index >= 0) {
    int rc = configure(params.index, params, error);
    if (rc == 0) index_ = params.index;
    return rc == 0 ? index_ : rc;
  }
  std::string last_error = "no /dev/nbdN device exists (is the nbd driver loaded?)";
  for (int i = 0; i < params.max_devices && sysfs_exists(i); ++i) {
    if (sysfs_in_use(i)) continue;
    std::string e;
    int rc = configure(i, params, &e);
    if (rc == 0) {
      index_ = i;
      return i;
    }
    last_error = e;
    // Someone took it between the sysfs check and SET_SOCK (EBUSY), or netlink owns it (EINVAL): next one.
    if (rc != -EBUSY && rc != -EINVAL) break;
  }
  *error = "nbd ioctl: no free device: " + last_error;
  return -ENODEV;
}

void NbdIoctlDevice::stop(std::chrono::milliseconds timeout) {
  std::shared_ptr<DoItState> state = std::move(state_);
  if (state == nullptr) return;
  std::string path = device_path(index_);
  index_ = -1;
  int fd = state->fd.get();
  if (::ioctl(fd, NBD_DISCONNECT) != 0) log_warn("{}: NBD_DISCONNECT: {}", path, std::strerror(errno));
  bool done = false;
  {
    std::unique_lock<std::mutex> lock(state->mu);
    done = state->cv.wait_for(lock, timeout, [&] { return state->done; });
  }
  if (!done) {
    // The NBD_DO_IT thread keeps its reference to the state (and the device file): leave both to it rather
    // than block the daemon.
    log_error("{}: the kernel did not end NBD_DO_IT within {} ms; leaving the device to it", path,
              timeout.count());
    return;
  }
  if (::ioctl(fd, NBD_CLEAR_SOCK) != 0) log_warn("{}: NBD_CLEAR_SOCK: {}", path, std::strerror(errno));
}

}  // namespace tandem::kernel_nbd
