#include "frontend/fuse_loop/fuse_loop_frontend.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "frontend/fuse_loop/loop_device.h"
#include "frontend/fuse_loop/loop_record.h"
#include "frontend/fuse_loop/mount_table.h"

namespace tandem {
namespace {

// A stale mount point may carry several stacked mounts if crashes repeated; more than this means a loop.
constexpr int kStaleUnmountAttempts = 8;
constexpr auto kStaleDetachTimeout = std::chrono::milliseconds(500);

std::string strip_trailing_slashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

int mkdir_parents(const std::string& path, std::string* error) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string part = path.substr(0, pos);
    if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
      int e = errno;
      *error = "mkdir " + part + ": " + std::strerror(e);
      return -e;
    }
  }
  return 0;
}

}  // namespace

FuseLoopFrontend::FuseLoopFrontend(BlockTarget& target, std::string resource, std::string mount_dir,
                                   FuseLoopOptions options)
    : target_(target),
      resource_(std::move(resource)),
      mount_dir_(strip_trailing_slashes(std::move(mount_dir))),
      options_(options) {}

FuseLoopFrontend::~FuseLoopFrontend() { stop(); }

std::string FuseLoopFrontend::device_path() const {
  return loop_index_ >= 0 ? loop_device_path(loop_index_) : std::string();
}

FuseFileStats FuseLoopFrontend::stats() const { return server_ ? server_->stats() : FuseFileStats{}; }

void FuseLoopFrontend::detach_recorded_loop() {
  if (options_.record_path.empty()) return;
  std::ifstream f(options_.record_path);
  if (!f) return;
  std::stringstream text;
  text << f.rdbuf();
  LoopRecord rec;
  std::string error;
  std::string dev_now;
  uint64_t inode_now = 0;
  bool parsed = parse_loop_record(text.str(), &rec, &error);
  if (parsed) {
    int rc = loop_backing_identity(rec.index, &dev_now, &inode_now);
    // A device whose FUSE server is dead cannot say which file it holds; a live one (another resource's
    // that took the number) can, so "dead" stands for our identity.
    if (rc == -ENOTCONN) {
      dev_now = rec.backing_dev;
      inode_now = rec.backing_inode;
    }
  }
  if (!parsed) {
    log_warn("resource {}: ignoring {}: {}", resource_, options_.record_path, error);
  } else if (loop_record_matches(rec, loop_backing_file(rec.index), dev_now, inode_now)) {
    log_warn("resource {}: {} recorded by pid {} is still bound to its FUSE file; detaching it", resource_,
             loop_device_path(rec.index), rec.pid);
    int rc = loop_detach(rec.index, kStaleDetachTimeout, /*restore_if_busy=*/false, &error);
    if (rc == -EBUSY) {
      log_warn("resource {}: {} is still in use; the kernel detaches it at its last close", resource_,
               loop_device_path(rec.index));
    } else if (rc != 0 && rc != -ENXIO) {
      log_warn("resource {}: detaching stale {}: {}", resource_, loop_device_path(rec.index), error);
    }
  } else {
    log_info("resource {}: {} recorded by pid {} is no longer ours (backing '{}', {} inode {}; recorded '{}', {} "
             "inode {}); leaving it", resource_, loop_device_path(rec.index), rec.pid, loop_backing_file(rec.index),
             dev_now.empty() ? "unbound" : dev_now, inode_now, rec.backing, rec.backing_dev, rec.backing_inode);
  }
  remove_record();
}

void FuseLoopFrontend::write_record() {
  if (options_.record_path.empty()) return;
  LoopRecord r{loop_index_, backing_file_path(), static_cast<int32_t>(::getpid()), loop_backing_dev_,
               loop_backing_inode_};
  std::string tmp = options_.record_path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << format_loop_record(r);
    f.flush();
    if (!f) {
      log_warn("resource {}: cannot write {}: {}; a crash would leave {} unnoticed", resource_, tmp,
               std::strerror(errno), device_path());
      return;
    }
  }
  if (::rename(tmp.c_str(), options_.record_path.c_str()) != 0)
    log_warn("resource {}: cannot rename {}: {}", resource_, tmp, std::strerror(errno));
}

void FuseLoopFrontend::remove_record() {
  if (!options_.record_path.empty()) ::unlink(options_.record_path.c_str());
}

void FuseLoopFrontend::clean_stale_state() {
  // A crashed daemon leaves its loop device bound to MOUNT/data (now failing every I/O) and a dead FUSE mount.
  // Release the loop devices first: they pin the mount. In its own mount namespace (tandemd) the dead FUSE
  // file reads as "/data" only, so the record is the way to find it; the path search covers runs without one.
  detach_recorded_loop();
  for (int index : loop_find_by_backing_prefix(mount_dir_)) {
    std::string error;
    log_warn("resource {}: {} is still bound to {} from an earlier run; detaching it", resource_,
             loop_device_path(index), backing_file_path());
    int rc = loop_detach(index, kStaleDetachTimeout, /*restore_if_busy=*/false, &error);
    if (rc == -EBUSY) {
      log_warn("resource {}: {} is still in use; the kernel detaches it at its last close", resource_,
               loop_device_path(index));
    } else if (rc != 0 && rc != -ENXIO) {
      log_warn("resource {}: detaching stale {}: {}", resource_, loop_device_path(index), error);
    }
  }
  for (int i = 0; i < kStaleUnmountAttempts; ++i) {
    std::vector<MountEntry> mounts;
    std::string error;
    if (read_mountinfo(&mounts, &error) != 0) {
      log_warn("resource {}: cannot check {} for a stale mount: {}", resource_, mount_dir_, error);
      return;
    }
    if (!is_mount_point(mounts, mount_dir_)) return;
    log_warn("resource {}: {} is still mounted from an earlier run; unmounting it lazily", resource_, mount_dir_);
    if (::umount2(mount_dir_.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
      log_warn("resource {}: lazy unmount of {}: {}", resource_, mount_dir_, std::strerror(errno));
      return;
    }
  }
}

int FuseLoopFrontend::start(std::string* error) {
  if (server_) {
    *error = "resource " + resource_ + ": fuse-loop frontend already running on " + device_path();
    return -EALREADY;
  }
  if (mount_dir_.empty() || mount_dir_[0] != '/') {
    *error = "resource " + resource_ + ": fuse-loop mount directory must be an absolute path, got '" + mount_dir_ +
             "'";
    return -EINVAL;
  }
  std::string step_error;
  int rc = mkdir_parents(mount_dir_, &step_error);
  if (rc != 0) {
    *error = "resource " + resource_ + ": fuse-loop: " + step_error;
    return rc;
  }
  clean_stale_state();

  FuseFileServerOptions fo;
  fo.mount_point = mount_dir_;
  fo.fsname = "tandem:" + resource_;
  fo.queue_depth = options_.queue_depth;
  fo.max_io_bytes = options_.max_io_bytes;
  auto server = std::make_unique<FuseFileServer>(target_, fo);
  rc = server->start(&step_error);
  if (rc != 0) {
    *error = "resource " + resource_ + ": " + step_error;
    return rc;
  }

  LoopAttachOptions lo;
  lo.read_only = !target_.writable();
  lo.direct_io = options_.loop_direct_io;
  lo.block_size_bytes = options_.block_size_bytes;
  LoopDeviceInfo info;
  rc = loop_attach(server->file_path(), lo, &info, &step_error);
  if (rc != 0) {
    *error = "resource " + resource_ + ": " + step_error;
    server->stop(options_.stop_timeout);
    return rc;
  }
  server_ = std::move(server);
  loop_index_ = info.index;
  loop_direct_io_ = info.direct_io;
  loop_backing_dev_ = info.backing_dev;
  loop_backing_inode_ = info.backing_inode;
  write_record();
  log_info("resource {}: {} attached to {} ({}, direct I/O {}, {} attach)", resource_, device_path(),
           backing_file_path(), info.read_only ? "read-only" : "read-write", info.direct_io ? "on" : "off",
           info.used_configure ? "LOOP_CONFIGURE" : "LOOP_SET_FD");
  return 0;
}

int FuseLoopFrontend::try_stop(std::string* error) {
  if (!server_) return 0;
  if (loop_index_ >= 0) {
    std::string why;
    int busy = loop_busy(loop_index_, &why);
    if (busy != 0) {
      *error = "resource " + resource_ + ": cannot stop the fuse-loop frontend: " + why;
      return busy > 0 ? -EBUSY : busy;
    }
    std::string step_error;
    int rc = loop_detach(loop_index_, options_.detach_timeout, /*restore_if_busy=*/true, &step_error);
    if (rc == -EBUSY) {
      *error = "resource " + resource_ + ": cannot stop the fuse-loop frontend: " + step_error;
      return rc;
    }
    if (rc != 0 && rc != -ENXIO) {
      log_error("resource {}: detaching {}: {}", resource_, device_path(), step_error);
    }
    loop_index_ = -1;
    remove_record();
  }
  teardown();
  return 0;
}

void FuseLoopFrontend::stop() {
  if (!server_) return;
  teardown();
}

void FuseLoopFrontend::teardown() {
  if (loop_index_ >= 0) {
    std::string why;
    bool busy = loop_busy(loop_index_, &why) == 1;
    if (busy) {
      log_error("resource {}: stopping although {}; it detaches at its last close and its I/O fails from now on",
                resource_, why);
    }
    // When it is known to be busy, waiting for the detach is pointless: LOOP_CLR_FD only arms the deferred detach.
    std::string step_error;
    int rc = loop_detach(loop_index_, busy ? std::chrono::milliseconds(0) : options_.detach_timeout,
                         /*restore_if_busy=*/false, &step_error);
    if (rc != 0 && rc != -ENXIO && !(busy && rc == -EBUSY)) {
      log_error("resource {}: detaching {}: {}", resource_, device_path(), step_error);
    }
    loop_index_ = -1;
    remove_record();  // detached, or detaching at its last close (autoclear)
  }
  server_->stop(options_.stop_timeout);
  server_.reset();
  loop_direct_io_ = false;
  log_info("resource {}: fuse-loop frontend stopped", resource_);
}

int FuseLoopFrontend::open_count() const {
  if (loop_index_ < 0) return 0;
  std::string why;
  int busy = loop_busy(loop_index_, &why);
  if (busy < 0) {
    // Cannot tell: say "in use", since the caller would otherwise demote a device someone may be using.
    log_warn("resource {}: busy probe failed ({}); reporting the device as in use", resource_, why);
    return 1;
  }
  return busy;
}

}  // namespace tandem
