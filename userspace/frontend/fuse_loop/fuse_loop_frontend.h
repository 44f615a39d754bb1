// The FUSE+loop frontend: gives the Primary a real kernel block device on kernels without ublk or nbd.
//
//   /dev/loopN  --(loop driver, direct I/O when the kernel allows)-->  MOUNT/data  --(FUSE)-->  BlockTarget
//
// The replicated data is exported as the single file MOUNT/data (see fuse_file_server.h) and that file is
// attached to a free loop device, which the user can mkfs and mount like any disk. MOUNT is a private
// directory per resource, e.g. RUN_DIR/fuse-RES; fsname "tandem:RES" makes the mount recognisable.
//
// Lifecycle: start() cleans up what a crashed daemon may have left (the loop device its record names, loop
// devices still bound to MOUNT/data, then the dead FUSE mount, lazily unmounted), mounts, attaches, records
// the loop device (options.record_path), and undoes every step it did if a later one fails. try_stop() refuses while the device is in use; stop() always tears down, detaching lazily.
//
// Deadlock rule: nothing in this process may do I/O on /dev/loopN from a FUSE worker, because the workers
// are the ones serving it. Attach, detach and the busy probe only use ioctls, sysfs and an open(O_EXCL) that
// moves no data, and they run on the caller's (control) thread while the workers keep serving.
//
// Threading: start/stop/try_stop/open_count/device_path are for one controlling thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "frontend/block_target.h"
#include "frontend/fuse_loop/fuse_file_server.h"

namespace tandem {

struct FuseLoopOptions {
  uint32_t queue_depth = 16;         // Target requests in flight from the FUSE side.
  uint32_t max_io_bytes = 1u << 20;  // FUSE max_read/max_write (the kernel's default page limit allows 1 MiB).
  // Ask the loop driver for direct I/O on the FUSE file. Measured on Linux 6.18 (2 vCPUs, in-memory target):
  // LOOP_CONFIGURE accepts LO_FLAGS_DIRECT_IO on a FOPEN_DIRECT_IO FUSE file, and with FUSE_CAP_ASYNC_DIO the
  // loop driver then keeps many requests in flight (15 seen, vs 4 in buffered mode, where each loop worker
  // does one synchronous read/write at a time). Either way no page cache sits on the file side, because the
  // FUSE file handle is FOPEN_DIRECT_IO; the only cache is the block device's own, above the loop device.
  // Buffered mode is the fallback when the kernel refuses direct I/O.
  bool loop_direct_io = true;
  uint32_t block_size_bytes = 4096;  // Logical block size of /dev/loopN.
  std::chrono::milliseconds detach_timeout{3000};  // try_stop/stop: wait for the loop device to unbind.
  std::chrono::milliseconds stop_timeout{10000};   // FUSE teardown: loop thread exit + in-flight drain.
  // Where the attached loop device is recorded (loop_record.h), so that it can still be found after a crash
  // of this process has taken its mount namespace, and with it the FUSE file's path, away. "": no record.
  std::string record_path;
};

class FuseLoopFrontend final : public BlockFrontend {
 public:
  // `target` must outlive this object. `mount_dir` is created (0700, parents too) when missing.
  FuseLoopFrontend(BlockTarget& target, std::string resource, std::string mount_dir, FuseLoopOptions options = {});
  ~FuseLoopFrontend() override;  // stop()

  int start(std::string* error) override;
  // Always releases everything, bounded. If the loop device is still in use (mounted), the kernel is told to
  // detach it at its last close and the FUSE connection is aborted: the user's mount then sees I/O errors.
  // Callers that must not do that (`secondary`) check open_count() or use try_stop() first.
  void stop() override;
  // Like stop(), but returns -EBUSY (with *error naming the device and user) and leaves everything running
  // when the loop device is in use. 0 when stopped (or not running).
  int try_stop(std::string* error) override;
  // 1 when the loop device is in use by someone else (see loop_busy() in loop_device.h for what can be seen:
  // mounts, holders and exclusive openers, not plain open file descriptors), else 0.
  int open_count() const override;
  std::string kind() const override { return "fuse-loop"; }
  std::string device_path() const override;  // "/dev/loopN" while running, "" otherwise.

  std::string backing_file_path() const { return mount_dir_ + "/" + FuseFileServer::kFileName; }
  bool loop_direct_io() const { return loop_direct_io_; }  // What the kernel granted.
  FuseFileStats stats() const;

 private:
  void clean_stale_state();
  void detach_recorded_loop();  // the loop device a crashed run recorded, if it is still bound to its file
  void write_record();
  void remove_record();
  void teardown();  // Detaches the loop device (lazily if in use), then stops FUSE. REQUIRES: server_.

  BlockTarget& target_;
  std::string resource_;
  std::string mount_dir_;
  FuseLoopOptions options_;
  std::unique_ptr<FuseFileServer> server_;
  int loop_index_ = -1;
  bool loop_direct_io_ = false;
  std::string loop_backing_dev_;  // the FUSE file's identity as the loop holds it (for the record)
  uint64_t loop_backing_inode_ = 0;
};

}  // namespace tandem
