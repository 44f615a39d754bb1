#include "frontend/block_device_busy.h"

#include <fmt/format.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <vector>

#include "common/log.h"
#include "frontend/fuse_loop/mount_table.h"

namespace tandem {

namespace {

// The command name of `pid` (/proc/PID/comm), or "?".
std::string process_name(const std::string& pid) {
  char buf[64];
  int fd = ::open(("/proc/" + pid + "/comm").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "?";
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return "?";
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0')) n--;
  return std::string(buf, static_cast<size_t>(n));
}

bool all_digits(const char* s) {
  if (*s == '\0') return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return false;
  return true;
}

// Whether any descriptor of process `pid` is the device `rdev` (of type `type`: block or character). Only
// descriptors whose link names something under /dev/ are stat'ed: stat() of a file on a hung NFS or FUSE mount
// would block (fuser's well-known hang), and this runs on the daemon's event loop.
bool process_holds(const std::string& pid, dev_t rdev, mode_t type) {
  std::string dir = "/proc/" + pid + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return false;  // gone, or a kernel thread
  bool found = false;
  char target[64];
  while (dirent* ent = ::readdir(d)) {
    if (!all_digits(ent->d_name)) continue;
    std::string fd_path = dir + "/" + ent->d_name;
    ssize_t n = ::readlink(fd_path.c_str(), target, sizeof target);
    if (n < 5 || std::string_view(target, 5) != "/dev/") continue;
    struct stat st;
    if (::stat(fd_path.c_str(), &st) == 0 && (st.st_mode & S_IFMT) == type && st.st_rdev == rdev) {
      found = true;
      break;
    }
  }
  ::closedir(d);
  return found;
}

}  // namespace

std::string processes_holding(const std::string& device_path, int skip_pid) {
  struct stat dev;
  if (::stat(device_path.c_str(), &dev) != 0 || (!S_ISBLK(dev.st_mode) && !S_ISCHR(dev.st_mode))) return "";
  DIR* proc = ::opendir("/proc");
  if (!proc) return "";
  const std::string skip = std::to_string(skip_pid);
  std::string out;
  size_t listed = 0, more = 0;
  while (dirent* ent = ::readdir(proc)) {
    if (!all_digits(ent->d_name) || skip == ent->d_name) continue;
    if (!process_holds(ent->d_name, dev.st_rdev, dev.st_mode & S_IFMT)) continue;
    if (listed == kMaxListedOpeners) {
      more++;
      continue;
    }
    out += fmt::format("{}pid {} ({})", listed ? ", " : "", ent->d_name, process_name(ent->d_name));
    listed++;
  }
  ::closedir(proc);
  if (more) out += fmt::format(" and {} more", more);
  return out;
}

int block_device_busy(const std::string& path, const std::string& sysfs_dir, std::string* why) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    int e = errno;
    *why = path + ": stat: " + std::strerror(e);
    return -e;
  }
  std::vector<MountEntry> mounts;
  std::string error;
  if (read_mountinfo(&mounts, &error) == 0) {
    for (const MountEntry& m : mounts) {
      if (m.major == major(st.st_rdev) && m.minor == minor(st.st_rdev)) {
        *why = path + " is mounted on " + m.mount_point;  // a mount holds no descriptor: no /proc scan
        return 1;
      }
    }
  } else {
    log_warn("{}: busy check without the mount table: {}", path, error);
  }
  if (DIR* d = ::opendir((sysfs_dir + "/holders").c_str())) {
    std::string holder;
    while (dirent* ent = ::readdir(d)) {
      if (ent->d_name[0] != '.') {
        holder = ent->d_name;
        break;
      }
    }
    ::closedir(d);
    if (!holder.empty()) {
      *why = path + " is held by " + holder;
      return 1;
    }
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == EBUSY) {
      std::string who = processes_holding(path, ::getpid());
      *why = path + (who.empty() ? " is opened exclusively by another process (mounted elsewhere, mkfs, fsck, ...)"
                                 : " is opened exclusively by another process; open by " + who);
      return 1;
    }
    *why = path + ": open(O_EXCL) probe: " + std::strerror(e);
    return -e;
  }
  ::close(fd);
  // Plain (non-exclusive) openers pass the probe above: a `dd`, a backup tool, a shell redirection. The device
  // is in use all the same (DRBD counts every open), and /proc shows who.
  if (std::string who = processes_holding(path, ::getpid()); !who.empty()) {
    *why = path + " is open by " + who;
    return 1;
  }
  return 0;
}

}  // namespace tandem
