// Finds filesystem, RAID, crypto and partition-table signatures with libblkid, for create-md's safety check
// (meta/create_md.h keeps libblkid out of the pure library by taking this as a callback).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "meta/create_md.h"

namespace tandem::io {

// A meta::SignatureProbe: probes [offset_bytes, offset_bytes + size_bytes) of fd (size 0: to the end) the
// way `wipefs` does (every signature libblkid knows, including ones with bad checksums) and appends what it
// finds, with absolute offsets. Returns 0 or -errno with a message.
int probe_signatures(int fd, uint64_t offset_bytes, uint64_t size_bytes, std::vector<meta::FoundSignature>* found,
                     std::string* error);

}  // namespace tandem::io
