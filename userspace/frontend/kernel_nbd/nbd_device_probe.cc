#include "frontend/kernel_nbd/nbd_device_probe.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "common/log.h"
#include "frontend/block_device_busy.h"
#include "frontend/fuse_loop/mount_table.h"
#include "frontend/kernel_nbd/nbd_netlink.h"

namespace tandem::kernel_nbd {

namespace {
bool exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }
}  // namespace

bool nbd_driver_available(std::string* why) {
  std::string netlink_why;
  if (nbd_netlink_family_present(&netlink_why)) {
    if (why != nullptr) *why = netlink_why;
    return true;
  }
  for (const char* path : {"/sys/module/nbd", "/dev/nbd0"}) {
    if (exists(path)) {
      if (why != nullptr) *why = fmt::format("{} exists (netlink: {})", path, netlink_why);
      return true;
    }
  }
  if (why != nullptr) *why = fmt::format("no nbd driver: {}; no /sys/module/nbd, no /dev/nbd0", netlink_why);
  return false;
}

int nbd_device_busy(int index, std::string* why) {
  return block_device_busy(fmt::format("/dev/nbd{}", index), fmt::format("/sys/block/nbd{}", index), why);
}

bool nbd_device_connected(int index) { return exists(fmt::format("/sys/block/nbd{}/pid", index)); }

int nbd_device_pid(int index) {
  std::ifstream f(fmt::format("/sys/block/nbd{}/pid", index));
  long pid = -1;
  if (!(f >> pid) || pid <= 0) return -1;
  return static_cast<int>(pid);
}

std::vector<int> nbd_devices_with_backend(const std::string& backend_identifier) {
  std::vector<int> out;
  if (backend_identifier.empty()) return out;
  DIR* d = ::opendir("/sys/block");
  if (d == nullptr) return out;
  while (dirent* ent = ::readdir(d)) {
    std::string name = ent->d_name;
    if (name.size() <= 3 || name.compare(0, 3, "nbd") != 0) continue;
    char* end = nullptr;
    long index = std::strtol(name.c_str() + 3, &end, 10);
    if (end == nullptr || *end != '\0' || index < 0) continue;
    std::ifstream f("/sys/block/" + name + "/backend");
    std::string line;
    if (f && std::getline(f, line) && line == backend_identifier) out.push_back(static_cast<int>(index));
  }
  ::closedir(d);
  return out;
}

}  // namespace tandem::kernel_nbd
