// create-md: initialise a resource's metadata (DRBD's `drbdadm create-md`).
//
// Refuses, writing nothing, when the area it would overwrite holds valid or damaged tandem metadata or a
// filesystem/RAID/partition signature, unless `force` is set. Signature detection is passed in as a probe
// (io/signature_probe.h provides the libblkid one) so that meta/ does not depend on libblkid.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "meta/format.h"
#include "meta/md_device.h"

namespace tandem::meta {

// One signature found on a device by a probe.
struct FoundSignature {
  std::string type;    // "ext4", "linux_raid_member", "gpt", ...
  std::string usage;   // "filesystem", "raid", "crypto", "partition table", "other", ...
  uint64_t magic_offset_bytes = 0;  // Absolute offset of the signature's magic on the device.
  // Absolute end of what the signature describes, or 0 if unknown (assume it may reach the device's end).
  uint64_t end_bytes = 0;
};

// Probes [offset_bytes, offset_bytes + size_bytes) of `fd` (size 0: to the end of the device) as if it were
// a device of its own, appending what it finds with absolute offsets. Returns 0 or -errno with a message.
using SignatureProbe = std::function<int(int fd, uint64_t offset_bytes, uint64_t size_bytes,
                                         std::vector<FoundSignature>* found, std::string* error)>;

struct CreateMdRequest {
  MdPaths paths;
  uint32_t node_id = 0;
  uint32_t peer_node_id = 1;
  uint32_t al_extents = kAlExtentsDefault;
  bool force = false;     // Overwrite existing metadata and foreign signatures.
  SignatureProbe probe;   // Required (use io::probe_signatures); may be a no-op in tests.
};

// Returns 0 with a one-line success message ("tandem metadata created on /path (internal, data size ...)"),
// or a negative errno with the reason: -EEXIST for existing metadata or signatures (message names them and
// suggests --force), -ENOSPC for a too-small device (message names the minimum size), -EINVAL for bad
// arguments, other -errno for I/O failures.
int create_md(const CreateMdRequest& req, std::string* message);

}  // namespace tandem::meta
