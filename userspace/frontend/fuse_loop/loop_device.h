// Attaching a regular file to a kernel loop device, detaching it, and telling whether it is in use.
//
// All functions talk to the kernel only through ioctls on /dev/loop-control and /dev/loopN and through sysfs;
// none reads or writes the loop device's data. That matters because the backing file is served by this
// very process (FUSE): a read of /dev/loopN from a FUSE worker thread would wait for itself.
// Not thread-safe with respect to the same loop device: one owner (the frontend's control thread) calls these.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace tandem {

struct LoopAttachOptions {
  bool read_only = false;
  // Ask for LO_FLAGS_DIRECT_IO. The kernel may refuse (backing file without O_DIRECT support, or a logical
  // block size smaller than the file's DIO alignment); attach then falls back to buffered mode.
  bool direct_io = true;
  uint32_t block_size_bytes = 4096;  // Logical block size of /dev/loopN.
};

struct LoopDeviceInfo {
  int index = -1;          // N in /dev/loopN.
  bool direct_io = false;  // As reported by LOOP_GET_STATUS64 after attach.
  bool read_only = false;
  bool used_configure = false;  // LOOP_CONFIGURE worked (else the LOOP_SET_FD fallback was used).
  // The backing file's identity as the loop driver holds it (lo_device as "MAJ:MIN", lo_inode): unlike its
  // path, it stays the same from every mount namespace, and no other live file has it.
  std::string backing_dev;
  uint64_t backing_inode = 0;
};

// The backing identity of /dev/loopN now (as in LoopDeviceInfo): 0, or a negative errno — -ENXIO when it is
// unbound, -ENOTCONN when its backing file is on a FUSE mount whose server is gone (the kernel's
// LOOP_GET_STATUS64 asks the file system for the inode, and a dead FUSE connection cannot answer).
int loop_backing_identity(int index, std::string* dev, uint64_t* inode);

std::string loop_device_path(int index);  // "/dev/loopN"

// Attaches `backing_path` to a free loop device (LOOP_CTL_GET_FREE), without autoclear: the owner detaches
// explicitly. Retries a bounded number of times when another process grabs the same free device first.
// Returns 0 or a negative errno with *error naming the device and the failing step.
int loop_attach(const std::string& backing_path, const LoopAttachOptions& options, LoopDeviceInfo* out,
                std::string* error);

// Requests detach with LOOP_CLR_FD and waits up to `timeout` for the device to become unbound.
// Since Linux 5.x LOOP_CLR_FD never fails with EBUSY: it sets LO_FLAGS_AUTOCLEAR and the kernel detaches at
// the last close. So: returns 0 when detached, -EBUSY when some opener still holds it after the wait (the
// device then detaches on that opener's last close unless `restore_if_busy` clears autoclear again), -ENXIO
// when it was not bound, other negative errno on failure.
int loop_detach(int index, std::chrono::milliseconds timeout, bool restore_if_busy, std::string* error);

// Whether someone uses /dev/loopN: a filesystem on it is mounted in our mount namespace, it has holders
// (device mapper, md), or someone holds it open exclusively (mount in another namespace, mkfs, fsck: probed
// with open(O_RDONLY|O_EXCL), which fails with EBUSY). Limits: plain non-exclusive openers (dd, a process
// that merely holds an fd) are invisible, and the probe itself holds the device exclusively for a moment.
// Returns 1 busy (*why says how), 0 free, negative errno when the probe itself failed.
int loop_busy(int index, std::string* why);

// /sys/block/loopN/loop/backing_file as this process reads it ("" when N is unbound or unreadable).
std::string loop_backing_file(int index);

// Loop devices whose backing file path starts with `prefix` (from /sys/block/loop*/loop/backing_file).
std::vector<int> loop_find_by_backing_prefix(const std::string& prefix);

}  // namespace tandem
