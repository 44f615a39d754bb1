#include "io/signature_probe.h"

#include <blkid/blkid.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <type_traits>

namespace tandem::io {

namespace {

struct ProbeDeleter {
  void operator()(blkid_probe pr) const { blkid_free_probe(pr); }
};

std::string lookup(blkid_probe pr, const char* name) {
  const char* value = nullptr;
  if (blkid_probe_lookup_value(pr, name, &value, nullptr) != 0 || value == nullptr) return {};
  return value;
}

uint64_t lookup_u64(blkid_probe pr, const char* name) {
  std::string v = lookup(pr, name);
  return v.empty() ? 0 : std::strtoull(v.c_str(), nullptr, 10);
}

}  // namespace

int probe_signatures(int fd, uint64_t offset_bytes, uint64_t size_bytes, std::vector<meta::FoundSignature>* found,
                     std::string* error) {
  std::unique_ptr<std::remove_pointer_t<blkid_probe>, ProbeDeleter> pr(blkid_new_probe());
  if (!pr) {
    *error = "libblkid could not allocate a probe";
    return -ENOMEM;
  }
  if (blkid_probe_set_device(pr.get(), fd, blkid_loff_t(offset_bytes), blkid_loff_t(size_bytes)) != 0) {
    *error = fmt::format("libblkid cannot probe the device from offset {}", offset_bytes);
    return -EIO;
  }
  blkid_probe_enable_superblocks(pr.get(), 1);
  blkid_probe_set_superblocks_flags(pr.get(), BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE | BLKID_SUBLKS_MAGIC |
                                                  BLKID_SUBLKS_BADCSUM);
  blkid_probe_enable_partitions(pr.get(), 1);
  blkid_probe_set_partitions_flags(pr.get(), BLKID_PARTS_MAGIC);
  // Bounded: libblkid reports each signature once and then returns 1; the cap guards against a loop anyway.
  for (int i = 0; i < 64; i++) {
    int rc = blkid_do_probe(pr.get());
    if (rc == 1) return 0;
    if (rc < 0) {
      *error = fmt::format("libblkid failed probing from offset {}", offset_bytes);
      return -EIO;
    }
    meta::FoundSignature s;
    std::string pttype = lookup(pr.get(), "PTTYPE");
    if (!pttype.empty()) {
      s.type = pttype;
      s.usage = "partition table";
      s.magic_offset_bytes = offset_bytes + lookup_u64(pr.get(), "PTMAGIC_OFFSET");
    } else {
      s.type = lookup(pr.get(), "TYPE");
      s.usage = lookup(pr.get(), "USAGE");
      s.magic_offset_bytes = offset_bytes + lookup_u64(pr.get(), "SBMAGIC_OFFSET");
      // Newer libblkid reports the filesystem size; without it the caller assumes it reaches the end.
      uint64_t fs_size = lookup_u64(pr.get(), "FSSIZE");
      if (fs_size != 0) s.end_bytes = offset_bytes + fs_size;
    }
    if (s.type.empty()) s.type = "unknown";
    if (s.usage.empty()) s.usage = "other";
    found->push_back(s);
  }
  return 0;
}

}  // namespace tandem::io
