// Whether a kernel block device that a frontend exports is in use by someone else: mounted (in this mount
// namespace), held by a stacked device (device mapper, md), or opened exclusively (an open(O_EXCL) probe fails
// with EBUSY). Plain non-exclusive openers (a `dd` holding an fd) cannot be seen this way. The probe moves no
// data, so it is safe from any thread of the daemon that serves the device. Shared by the FUSE+loop and the
// kernel NBD frontends.
#pragma once

#include <string>

namespace tandem {

// `device_path`: e.g. /dev/loop3; `sysfs_dir`: e.g. /sys/block/loop3.
// Returns 1 busy (*why says how), 0 free, a negative errno when the probe itself failed (*why says why).
int block_device_busy(const std::string& device_path, const std::string& sysfs_dir, std::string* why);

}  // namespace tandem
