// A ublk device that a crashed run left behind and that this run will not take back ("orphan").
//
// After kill -9 of the serving daemon the kernel (UBLK_F_USER_RECOVERY) quiesces /dev/ublkbN: its I/O waits
// for a new server. A restarted daemon takes the device back only when it becomes Primary (UblkFrontend::
// start). If it stays Secondary, the waiting I/O must not hang forever: release_ublk_orphan() ends the
// recovery the other way. What the kernel (Linux 6.1, drivers/block/ublk_drv.c) does with each step:
//   - STOP_DEV on a QUIESCED device sets force_abort on every queue, unquiesces it (the requeued and every
//     new request fail with BLK_STS_IOERR: the openers see EIO) and deletes the gendisk (/dev/ublkbN goes
//     away); the state becomes DEAD. It does not wait for the openers.
//   - DEL_DEV removes /dev/ublkcN and then waits, uninterruptibly and (on 6.1) holding the driver's global
//     control mutex, until the last reference to the device is gone: while a filesystem is still mounted on
//     the old /dev/ublkbN, or a process keeps it open, it does not return, it blocks every other ADD_DEV /
//     DEL_DEV on the machine, and the io_uring that sent it cannot be torn down (the sending process cannot
//     exit). So DEL_DEV is sent only when the disk is not known to be held: not mounted, not held by a
//     stacked device, not opened exclusively (block_device_busy.h). Plain openers (fio, dd) get EIO after
//     STOP_DEV and normally close within moments; DEL_DEV's bound covers them.
//   - A held device stays stopped (DEAD, no /dev/ublkbN, I/O fails) with its record kept; a later call
//     deletes it once the holder is gone (the mount table is read again: by the device's number when this
//     process saw the node, else by the mount source "/dev/ublkbN").
//
// Threading: blocking (bounded by the UblkOptions timeouts): call it from a control thread, never from the
// event loop or a thread that serves I/O. Stateless apart from the record file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "frontend/ublk/ublk_frontend.h"

namespace tandem {

struct UblkOrphan {
  enum class Outcome : uint8_t {
    None,     // no record, or the recorded device no longer exists (record removed)
    Deleted,  // stopped (if it was not already) and deleted; record removed
    Held,     // stopped, not deleted: someone still holds the disk (message says who); record kept
    Failed,   // could not tell or could not act (message says why); record kept
  };
  Outcome outcome = Outcome::None;
  uint32_t dev_id = 0;
  dev_t disk = 0;  // the block device number while /dev/ublkbN existed (0: not seen); pass back in
  std::string message;
};

// Whether `record_path` names a recorded device; *dev_id is set then. Cheap (one small file read).
bool ublk_orphan_recorded(const std::string& record_path, uint32_t* dev_id);

// After STOP_DEV /dev/ublkbN is gone, so only the mount table can still say the disk is held: by number when
// `disk` is known, else by the mount source `node`. True (with *why) when mounted or when it cannot tell.
// With `private_mount_namespace` (the daemon runs in its own, tandemd_main.cc) it first drops this process's
// copies of such mounts (ublk_drop_own_mount_copies) and then also reads init's table (/proc/1/mountinfo),
// the host's view.
bool ublk_disk_still_mounted(dev_t disk, const std::string& node, bool private_mount_namespace, std::string* why);

// A namespace of our own copies the mounts that exist when it is made. Where the host's mounts do not
// propagate (a private "/", as in the test VM; containers), a filesystem the host had mounted on a crashed
// run's /dev/ublkbN stays mounted in our copy after the host unmounts it, and that copy alone would keep the
// disk referenced (DEL_DEV would wait for ourselves). The daemon never mounts its devices, so every such copy
// is an accident: lazily unmounted here, in our namespace only (a umount in a slave does not propagate back).
// Only for a process in its own mount namespace: elsewhere it would unmount the user's filesystem.
void ublk_drop_own_mount_copies(dev_t disk, const std::string& node);

// Stops and deletes the device recorded in options.record_path unless a running process serves it. Waits up
// to options.recovery_wait for the kernel to notice a dead server. `known_disk`: UblkOrphan::disk of an
// earlier call for the same device (0 if none).
UblkOrphan release_ublk_orphan(const std::string& resource, const UblkOptions& options, dev_t known_disk = 0);

}  // namespace tandem
