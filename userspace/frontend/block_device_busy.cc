#include "frontend/block_device_busy.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/log.h"
#include "frontend/fuse_loop/mount_table.h"

namespace tandem {

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
        *why = path + " is mounted on " + m.mount_point;
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
      *why = path + " is opened exclusively by another process (mounted elsewhere, mkfs, fsck, ...)";
      return 1;
    }
    *why = path + ": open(O_EXCL) probe: " + std::strerror(e);
    return -e;
  }
  ::close(fd);
  return 0;
}

}  // namespace tandem
