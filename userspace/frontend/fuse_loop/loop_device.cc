#include "frontend/fuse_loop/loop_device.h"

#include <dirent.h>
#include <fmt/format.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "common/log.h"
#include "common/unique_fd.h"
#include "frontend/block_device_busy.h"
#include "frontend/fuse_loop/mount_table.h"

namespace tandem {
namespace {

// Another process may take the device LOOP_CTL_GET_FREE handed us before we configure it; a few retries
// are plenty, and the bound keeps a misbehaving system from spinning us forever.
constexpr int kAttachAttempts = 8;
// devtmpfs creates /dev/loopN asynchronously after LOOP_CTL_GET_FREE added a new device.
constexpr auto kNodeWait = std::chrono::milliseconds(2000);
constexpr auto kPollStep = std::chrono::milliseconds(10);

std::string errno_text(int e) { return std::strerror(e); }

std::string sysfs_dir(int index) { return "/sys/block/loop" + std::to_string(index); }

bool path_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// The "loop" attribute directory exists exactly while a backing file is bound.
bool loop_bound(int index) { return path_exists(sysfs_dir(index) + "/loop"); }

bool read_small_file(const std::string& path, std::string* out) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  char buf[4096];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n < 0) return false;
  out->assign(buf, static_cast<size_t>(n));
  while (!out->empty() && (out->back() == '\n' || out->back() == ' ')) out->pop_back();
  return true;
}

int open_loop_node(int index, int flags, UniqueFd* out, std::string* error) {
  std::string path = loop_device_path(index);
  auto deadline = std::chrono::steady_clock::now() + kNodeWait;
  for (;;) {
    int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd >= 0) {
      out->reset(fd);
      return 0;
    }
    int e = errno;
    if (e == EINTR) continue;
    if (e == ENOENT && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(kPollStep);
      continue;
    }
    *error = path + ": open: " + errno_text(e);
    return -e;
  }
}

void fill_info_name(loop_info64* info, const std::string& backing_path) {
  // lo_file_name is informational (losetup shows it); truncation is harmless, sysfs has the real path.
  std::strncpy(reinterpret_cast<char*>(info->lo_file_name), backing_path.c_str(), LO_NAME_SIZE - 1);
}

// The pre-5.8 path: three ioctls instead of one. Leaves the device unbound on failure.
int attach_legacy(int dev_fd, int file_fd, int index, const std::string& backing_path,
                  const LoopAttachOptions& options, std::string* error) {
  std::string path = loop_device_path(index);
  if (::ioctl(dev_fd, LOOP_SET_FD, file_fd) != 0) {
    int e = errno;
    *error = path + ": LOOP_SET_FD: " + errno_text(e);
    return -e;
  }
  loop_info64 info{};
  fill_info_name(&info, backing_path);
  if (::ioctl(dev_fd, LOOP_SET_STATUS64, &info) != 0) {
    int e = errno;
    *error = path + ": LOOP_SET_STATUS64: " + errno_text(e);
    ::ioctl(dev_fd, LOOP_CLR_FD, 0);
    return -e;
  }
  if (::ioctl(dev_fd, LOOP_SET_BLOCK_SIZE, static_cast<unsigned long>(options.block_size_bytes)) != 0) {
    int e = errno;
    *error = path + ": LOOP_SET_BLOCK_SIZE " + std::to_string(options.block_size_bytes) + ": " + errno_text(e);
    ::ioctl(dev_fd, LOOP_CLR_FD, 0);
    return -e;
  }
  if (options.direct_io && ::ioctl(dev_fd, LOOP_SET_DIRECT_IO, 1UL) != 0) {
    log_warn("{}: LOOP_SET_DIRECT_IO refused ({}); using buffered loop I/O", path, errno_text(errno));
  }
  return 0;
}

}  // namespace

std::string loop_device_path(int index) { return "/dev/loop" + std::to_string(index); }

int loop_attach(const std::string& backing_path, const LoopAttachOptions& options, LoopDeviceInfo* out,
                std::string* error) {
  UniqueFd file(::open(backing_path.c_str(), (options.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC));
  if (!file.valid()) {
    int e = errno;
    *error = "loop attach: open backing file " + backing_path + ": " + errno_text(e);
    return -e;
  }
  UniqueFd ctl(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!ctl.valid()) {
    int e = errno;
    *error = "loop attach: open /dev/loop-control: " + errno_text(e);
    return -e;
  }

  int last_err = -EBUSY;
  for (int attempt = 0; attempt < kAttachAttempts; ++attempt) {
    int index = ::ioctl(ctl.get(), LOOP_CTL_GET_FREE);
    if (index < 0) {
      int e = errno;
      *error = "loop attach: LOOP_CTL_GET_FREE: " + errno_text(e);
      return -e;
    }
    std::string path = loop_device_path(index);
    UniqueFd dev;
    int rc = open_loop_node(index, options.read_only ? O_RDONLY : O_RDWR, &dev, error);
    if (rc != 0) return rc;

    bool configured = false;
    bool used_configure = false;
    bool want_dio = options.direct_io;
    for (int variant = 0; variant < 2 && !configured; ++variant) {
      loop_config cfg{};
      cfg.fd = static_cast<uint32_t>(file.get());
      cfg.block_size = options.block_size_bytes;
      cfg.info.lo_flags = (options.read_only ? LO_FLAGS_READ_ONLY : 0) | (want_dio ? LO_FLAGS_DIRECT_IO : 0);
      fill_info_name(&cfg.info, backing_path);
      if (::ioctl(dev.get(), LOOP_CONFIGURE, &cfg) == 0) {
        configured = true;
        used_configure = true;
        break;
      }
      int e = errno;
      if (e == EBUSY) break;  // Someone else bound it between GET_FREE and here: next device.
      if (e == EINVAL && want_dio) {
        // Either the kernel refuses direct I/O on this file or it has no LOOP_CONFIGURE: retry without.
        log_warn("{}: LOOP_CONFIGURE with direct I/O refused ({}); retrying without", path, errno_text(e));
        want_dio = false;
        continue;
      }
      if (e == EINVAL || e == ENOTTY) {
        rc = attach_legacy(dev.get(), file.get(), index, backing_path, options, error);
        if (rc == -EBUSY) break;
        if (rc != 0) return rc;
        configured = true;
        break;
      }
      *error = path + ": LOOP_CONFIGURE: " + errno_text(e);
      return -e;
    }
    if (!configured) {
      last_err = -EBUSY;
      continue;
    }

    loop_info64 info{};
    if (::ioctl(dev.get(), LOOP_GET_STATUS64, &info) != 0) {
      int e = errno;
      *error = path + ": LOOP_GET_STATUS64 after attach: " + errno_text(e);
      ::ioctl(dev.get(), LOOP_CLR_FD, 0);
      return -e;
    }
    if (info.lo_flags & LO_FLAGS_AUTOCLEAR) {
      // We never ask for it; if the kernel set it, our explicit detach logic would be wrong. Clear it.
      info.lo_flags &= ~LO_FLAGS_AUTOCLEAR;
      if (::ioctl(dev.get(), LOOP_SET_STATUS64, &info) != 0) {
        log_warn("{}: could not clear LO_FLAGS_AUTOCLEAR: {}", path, errno_text(errno));
      }
    }
    out->index = index;
    out->direct_io = (info.lo_flags & LO_FLAGS_DIRECT_IO) != 0;
    out->read_only = (info.lo_flags & LO_FLAGS_READ_ONLY) != 0;
    out->used_configure = used_configure;
    out->backing_dev = fmt::format("{}:{}", major(info.lo_device), minor(info.lo_device));
    out->backing_inode = info.lo_inode;
    return 0;
  }
  *error = "loop attach: every free loop device was taken by another process (" +
           std::to_string(kAttachAttempts) + " attempts)";
  return last_err;
}

int loop_detach(int index, std::chrono::milliseconds timeout, bool restore_if_busy, std::string* error) {
  std::string path = loop_device_path(index);
  {
    UniqueFd dev;
    int rc = open_loop_node(index, O_RDONLY, &dev, error);
    if (rc != 0) return rc;
    if (::ioctl(dev.get(), LOOP_CLR_FD, 0) != 0) {
      int e = errno;
      *error = path + ": LOOP_CLR_FD: " + errno_text(e);
      return -e;
    }
    // Closing our fd is what performs the detach when we were the last opener.
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (loop_bound(index)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      *error = path + ": still in use after LOOP_CLR_FD (mounted or held open by another process)";
      if (restore_if_busy) {
        UniqueFd dev;
        std::string ignored;
        loop_info64 info{};
        if (open_loop_node(index, O_RDONLY, &dev, &ignored) == 0 &&
            ::ioctl(dev.get(), LOOP_GET_STATUS64, &info) == 0) {
          info.lo_flags &= ~LO_FLAGS_AUTOCLEAR;
          if (::ioctl(dev.get(), LOOP_SET_STATUS64, &info) != 0) {
            log_warn("{}: could not clear the deferred detach (LO_FLAGS_AUTOCLEAR): {}; it will detach at its "
                     "last close", path, errno_text(errno));
          }
        }
      }
      return -EBUSY;
    }
    std::this_thread::sleep_for(kPollStep);
  }
  return 0;
}

int loop_backing_identity(int index, std::string* dev, uint64_t* inode) {
  UniqueFd fd;
  std::string ignored;
  int rc = open_loop_node(index, O_RDONLY, &fd, &ignored);
  if (rc != 0) return rc;
  loop_info64 info{};
  if (::ioctl(fd.get(), LOOP_GET_STATUS64, &info) != 0) return -errno;
  *dev = fmt::format("{}:{}", major(info.lo_device), minor(info.lo_device));
  *inode = info.lo_inode;
  return 0;
}

int loop_busy(int index, std::string* why) {
  return block_device_busy(loop_device_path(index), sysfs_dir(index), why);
}

std::string loop_backing_file(int index) {
  std::string backing;
  if (!read_small_file("/sys/block/loop" + std::to_string(index) + "/loop/backing_file", &backing)) return "";
  return backing;
}

std::vector<int> loop_find_by_backing_prefix(const std::string& prefix) {
  std::vector<int> out;
  DIR* d = ::opendir("/sys/block");
  if (d == nullptr) return out;
  while (dirent* ent = ::readdir(d)) {
    std::string name = ent->d_name;
    if (name.rfind("loop", 0) != 0 || name.size() == 4) continue;
    int index = 0;
    bool digits = true;
    for (size_t i = 4; i < name.size(); ++i) {
      if (name[i] < '0' || name[i] > '9' || index > 100000000) {
        digits = false;
        break;
      }
      index = index * 10 + (name[i] - '0');
    }
    if (!digits) continue;
    std::string backing;
    if (!read_small_file("/sys/block/" + name + "/loop/backing_file", &backing)) continue;
    bool match = backing.size() >= prefix.size() && backing.compare(0, prefix.size(), prefix) == 0 &&
                 (backing.size() == prefix.size() || backing[prefix.size()] == '/' || backing[prefix.size()] == ' ');
    if (match) out.push_back(index);
  }
  ::closedir(d);
  return out;
}

}  // namespace tandem
