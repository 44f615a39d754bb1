// Read-only probes of kernel NBD devices: is the driver there, is a device connected or in use, which
// device did a previous run of the daemon leave behind. Sysfs and open(O_EXCL) only: no data moves, so these
// are safe from the control thread while the device is served (never call them from the serving thread:
// opening the device may make the kernel read its partition table through us).
#pragma once

#include <string>
#include <vector>

namespace tandem::kernel_nbd {

// Whether a kernel NBD frontend can work here: the "nbd" generic netlink family resolves, or the driver is
// visible as /sys/module/nbd or /dev/nbd0. *why (may be null) says what was found or what is missing.
bool nbd_driver_available(std::string* why);

// 1 when /dev/nbdN is in use by someone else (mounted in our namespace, has holders such as dm or md, or is
// opened exclusively: mount elsewhere, mkfs, fsck), 0 when free, negative errno when the probe failed. Plain
// non-exclusive openers are invisible; the probe itself holds the device exclusively for a moment.
int nbd_device_busy(int index, std::string* why);

// Whether /sys/block/nbdN shows a connection (its pid file exists).
bool nbd_device_connected(int index);

// The task that connected /dev/nbdN (/sys/block/nbdN/pid), or -1 when not connected.
int nbd_device_pid(int index);

// Devices whose /sys/block/nbdN/backend equals `backend_identifier` (set through netlink at CONNECT).
std::vector<int> nbd_devices_with_backend(const std::string& backend_identifier);

}  // namespace tandem::kernel_nbd
