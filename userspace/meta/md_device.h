// Opening the devices of a resource's metadata and reading its superblock: used by create-md (to look for
// existing metadata), dump-md and the daemon's attach.
#pragma once

#include <cstdint>
#include <string>

#include "common/unique_fd.h"
#include "meta/layout.h"
#include "meta/superblock.h"

namespace tandem::meta {

// The backing disk and where its metadata lives: meta_path is a path or "internal" (empty means internal).
struct MdPaths {
  std::string backing_path;
  std::string meta_path = "internal";

  bool internal() const { return meta_path.empty() || meta_path == "internal"; }
  MdKind kind() const { return internal() ? MdKind::Internal : MdKind::External; }
  // The device that holds the metadata.
  const std::string& md_path() const { return internal() ? backing_path : meta_path; }
};

// Opens a regular file or block device and returns its size in bytes (st_size, or ioctl BLKGETSIZE64).
// Writable block devices are opened O_EXCL, so a mounted or otherwise held device is refused (-EBUSY).
// Anything else (directory, character device, ...) is -EINVAL. Messages name the path.
int open_device(const std::string& path, bool writable, UniqueFd* fd, uint64_t* size_bytes, std::string* error);

// An opened, verified metadata device.
struct OpenMd {
  UniqueFd md_fd;  // The device holding the metadata (the backing store when internal).
  uint64_t backing_size_bytes = 0;
  uint64_t md_device_size_bytes = 0;
  Superblock sb;
  Layout layout;  // Absolute offsets on md_fd.
};

// Opens the devices, reads and checks the superblock, and derives the layout. Fails when the metadata is
// missing, damaged, of another version, of the other kind (internal vs external) than `paths` says, or
// does not fit the devices any more. Errors are negative errno (see read_superblock) with a message that
// names the device; `*result` (optional) tells decode failures apart.
int open_md(const MdPaths& paths, bool writable, OpenMd* out, std::string* error,
            DecodeResult* result = nullptr);

// open_md read-only, keeping only the superblock and layout (for dump-md).
int read_md(const MdPaths& paths, Superblock* sb, Layout* layout, std::string* error,
            DecodeResult* result = nullptr);

}  // namespace tandem::meta
