// Whether a kernel block device that a frontend exports is in use by someone else: mounted (in this mount
// namespace), held by a stacked device (device mapper, md), opened exclusively (an open(O_EXCL) probe fails
// with EBUSY), or open at all by another process (a `dd` holding a descriptor: /proc/PID/fd, which also names
// the processes). The probe moves no data, so it is safe from any thread of the daemon that serves the device.
// Shared by the FUSE+loop, kernel NBD and ublk frontends.
#pragma once

#include <string>

namespace tandem {

// `device_path`: e.g. /dev/loop3; `sysfs_dir`: e.g. /sys/block/loop3.
// Returns 1 busy (*why says how; for an exclusive opener, which processes have it open), 0 free, a negative
// errno when the probe itself failed (*why says why).
int block_device_busy(const std::string& device_path, const std::string& sysfs_dir, std::string* why);

// The processes that have `device_path` open, from /proc/PID/fd (what `fuser` shows; the admin's first
// question when a demotion is refused): "pid 1234 (mysqld), pid 99 (dd)", at most kMaxListedOpeners and
// "and N more"; "" when none is found (a mount holds no descriptor) or the device cannot be stat'ed. Skips
// `skip_pid` (the daemon itself). Reads only /proc (stat only of descriptors that name something under /dev/);
// bounded by the number of processes and descriptors.
inline constexpr size_t kMaxListedOpeners = 5;
std::string processes_holding(const std::string& device_path, int skip_pid);

}  // namespace tandem
