#include "frontend/ublk/ublk_orphan.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/log.h"
#include "frontend/block_device_busy.h"
#include "frontend/fuse_loop/mount_table.h"
#include "frontend/ublk/ublk_control.h"
#include "frontend/ublk/ublk_record.h"

namespace tandem {

namespace {

constexpr auto kStatePoll = std::chrono::milliseconds(200);

// 1: *out read; 0: no record; -1: unreadable (*why).
int read_record(const std::string& path, ublk::Record* out, std::string* why) {
  std::ifstream f(path);
  if (!f) return 0;
  std::stringstream text;
  text << f.rdbuf();
  return ublk::parse_record(text.str(), out, why) ? 1 : -1;
}

bool process_alive(int32_t pid) { return pid > 0 && ::access(fmt::format("/proc/{}", pid).c_str(), F_OK) == 0; }

bool same_disk(const MountEntry& m, dev_t disk, const std::string& node) {
  return disk != 0 ? (m.major == major(disk) && m.minor == minor(disk)) : m.source == node;
}

int read_mount_table(const std::string& path, std::vector<MountEntry>* out, std::string* error) {
  std::ifstream f(path);
  if (!f) {
    *error = "cannot read " + path;
    return -EIO;
  }
  std::stringstream text;
  text << f.rdbuf();
  *out = parse_mountinfo(text.str());
  return 0;
}

}  // namespace

void ublk_drop_own_mount_copies(dev_t disk, const std::string& node) {
  std::vector<MountEntry> mounts;
  std::string error;
  if (read_mountinfo(&mounts, &error) != 0) return;
  for (auto it = mounts.rbegin(); it != mounts.rend(); ++it) {  // later (deeper) mounts first
    if (!same_disk(*it, disk, node)) continue;
    if (::umount2(it->mount_point.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) {
      log_info("dropped this daemon's copy of the mount of {} on {} (its namespace copied it at start; the "
               "host's mount is not touched)", node, it->mount_point);
    } else {
      log_warn("cannot drop this daemon's copy of the mount of {} on {}: {}", node, it->mount_point,
               std::strerror(errno));
    }
  }
}

bool ublk_disk_still_mounted(dev_t disk, const std::string& node, bool private_mount_namespace, std::string* why) {
  if (private_mount_namespace) ublk_drop_own_mount_copies(disk, node);
  // Ours, and (when we run in a namespace of our own) the host's: init's table.
  const std::string tables[] = {"/proc/self/mountinfo", "/proc/1/mountinfo"};
  for (const std::string& table : tables) {
    bool host = table == tables[1];
    if (host && !private_mount_namespace) break;
    std::vector<MountEntry> mounts;
    std::string error;
    if (read_mount_table(table, &mounts, &error) != 0) {
      if (host) continue;  // no access to init's table: ours must do
      *why = "cannot read the mount table (" + error + "); assuming " + node + " is still mounted";
      return true;
    }
    for (const MountEntry& m : mounts) {
      if (same_disk(m, disk, node)) {
        *why = node + " is still mounted on " + m.mount_point;
        return true;
      }
    }
  }
  return false;
}

bool ublk_orphan_recorded(const std::string& record_path, uint32_t* dev_id) {
  if (record_path.empty()) return false;
  ublk::Record r;
  std::string why;
  if (read_record(record_path, &r, &why) != 1) return false;
  *dev_id = r.dev_id;
  return true;
}

UblkOrphan release_ublk_orphan(const std::string& resource, const UblkOptions& o, dev_t known_disk) {
  UblkOrphan res;
  res.disk = known_disk;
  ublk::Record rec;
  std::string why;
  int found = read_record(o.record_path, &rec, &why);
  if (found <= 0) {
    if (found < 0) {
      log_warn("resource {}: ignoring {}: {}", resource, o.record_path, why);
      ::unlink(o.record_path.c_str());
    }
    return res;
  }
  res.dev_id = rec.dev_id;
  const std::string node = fmt::format("/dev/ublkb{}", rec.dev_id);
  auto failed = [&](std::string m) {
    res.outcome = UblkOrphan::Outcome::Failed;
    res.message = std::move(m);
    return res;
  };
  ublk::Control control;
  if (control.open(&why) != 0) return failed(why);
  control.set_encoding(rec.encoding);
  ublksrv_ctrl_dev_info info;
  auto deadline = std::chrono::steady_clock::now() + o.recovery_wait;
  for (;;) {
    int rc = control.get_dev_info(rec.dev_id, &info, &why);
    if (rc == -ENODEV) {
      log_info("resource {}: {} of the crashed run is gone", resource, node);
      ::unlink(o.record_path.c_str());
      return res;
    }
    if (rc != 0) return failed(fmt::format("cannot look up {}: {}", node, why));
    if (info.state != ublk::kStateLive) break;
    if (info.ublksrv_pid == ::getpid() || process_alive(info.ublksrv_pid))
      return failed(fmt::format("{} is served by running process {}", node, info.ublksrv_pid));
    // The server is dead but the kernel's monitor (every 5 s) has not quiesced the device yet.
    if (std::chrono::steady_clock::now() >= deadline)
      return failed(fmt::format("{} is still live {} ms after its server died", node, o.recovery_wait.count()));
    std::this_thread::sleep_for(kStatePoll);
  }
  if (info.state == ublk::kStateQuiesced) {
    struct stat st;
    if (::stat(node.c_str(), &st) == 0 && S_ISBLK(st.st_mode)) res.disk = st.st_rdev;
    std::string busy_why;
    // The mount tables first (they name the mount point); the probe also sees mounts elsewhere.
    int busy = ublk_disk_still_mounted(res.disk, node, o.private_mount_namespace, &busy_why) ? 1 : 0;
    if (busy == 0) busy = block_device_busy(node, fmt::format("/sys/block/ublkb{}", rec.dev_id), &busy_why);
    // STOP_DEV whatever the answer: it is what turns the waiting I/O into errors.
    if (control.stop_dev(rec.dev_id, o.stop_timeout, &why) != 0) return failed(why);
    log_warn("resource {}: stopped {} of the crashed run (this node was not promoted): its waiting and new I/O "
             "fail with EIO", resource, node);
    if (busy != 0) {
      res.outcome = UblkOrphan::Outcome::Held;
      res.message = busy > 0 ? busy_why : "cannot tell whether it is in use (" + busy_why + ")";
      return res;
    }
  } else if (ublk_disk_still_mounted(res.disk, node, o.private_mount_namespace, &why)) {
    res.outcome = UblkOrphan::Outcome::Held;
    res.message = why;
    return res;
  }
  if (ublk_disk_still_mounted(res.disk, node, o.private_mount_namespace, &why)) {  // since the probe
    res.outcome = UblkOrphan::Outcome::Held;
    res.message = why;
    return res;
  }
  if (control.del_dev(rec.dev_id, o.delete_timeout, &why) != 0)
    return failed(why + "; a process still has the old " + node + " open");
  ::unlink(o.record_path.c_str());
  res.outcome = UblkOrphan::Outcome::Deleted;
  log_info("resource {}: deleted {} of the crashed run", resource, node);
  return res;
}

}  // namespace tandem
