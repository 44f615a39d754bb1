#include "meta/md_device.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "meta/metadata_file.h"

namespace tandem::meta {

int open_device(const std::string& path, bool writable, UniqueFd* fd, uint64_t* size_bytes, std::string* error) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    int e = errno;
    *error = fmt::format("{}: {}", path, std::strerror(e));
    return -e;
  }
  bool block = S_ISBLK(st.st_mode);
  if (!block && !S_ISREG(st.st_mode)) {
    *error = fmt::format("{} is neither a regular file nor a block device", path);
    return -EINVAL;
  }
  int flags = (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC;
  // O_EXCL on a block device fails if it is mounted or held (e.g. by LVM or another tandem resource).
  if (block && writable) flags |= O_EXCL;
  UniqueFd f(::open(path.c_str(), flags));
  if (!f.valid()) {
    int e = errno;
    *error = e == EBUSY ? fmt::format("{} is in use (mounted or held by another program)", path)
                        : fmt::format("cannot open {}: {}", path, std::strerror(e));
    return -e;
  }
  uint64_t size = 0;
  if (block) {
    if (::ioctl(f.get(), BLKGETSIZE64, &size) != 0) {
      int e = errno;
      *error = fmt::format("cannot get the size of block device {}: {}", path, std::strerror(e));
      return -e;
    }
  } else {
    if (::fstat(f.get(), &st) != 0) {
      int e = errno;
      *error = fmt::format("cannot stat {}: {}", path, std::strerror(e));
      return -e;
    }
    size = uint64_t(st.st_size);
  }
  *fd = std::move(f);
  *size_bytes = size;
  return 0;
}

int open_md(const MdPaths& paths, bool writable, OpenMd* out, std::string* error, DecodeResult* result) {
  if (result) *result = DecodeResult::Ok;
  OpenMd md;
  int rc = open_device(paths.md_path(), writable, &md.md_fd, &md.md_device_size_bytes, error);
  if (rc != 0) return rc;
  if (paths.internal()) {
    md.backing_size_bytes = md.md_device_size_bytes;
  } else {
    UniqueFd backing;  // Only its size is needed here; the daemon opens it for data I/O itself.
    rc = open_device(paths.backing_path, false, &backing, &md.backing_size_bytes, error);
    if (rc != 0) return rc;
  }
  uint64_t sb_offset = 0;
  rc = superblock_offset(paths.kind(), md.md_device_size_bytes, &sb_offset, error);
  if (rc == 0) rc = read_superblock(md.md_fd.get(), sb_offset, &md.sb, error, result);
  if (rc != 0) {
    if (rc == -ENODATA)
      *error = fmt::format("{}: {} (superblock expected at offset {}, {} meta-disk); run create-md first",
                           paths.md_path(), "no tandem metadata found", sb_offset, md_kind_name(paths.kind()));
    else
      *error = fmt::format("{}: {}", paths.md_path(), *error);
    return rc;
  }
  uint32_t want_kind = paths.internal() ? kMdKindInternal : kMdKindExternal;
  if (md.sb.md_kind != want_kind) {
    *error = fmt::format("{}: the metadata there is for an {} meta-disk, but the configuration says {}",
                         paths.md_path(), md.sb.md_kind == kMdKindInternal ? "internal" : "external",
                         md_kind_name(paths.kind()));
    if (result) *result = DecodeResult::Insane;
    return -EUCLEAN;
  }
  rc = layout_from_superblock(md.sb, sb_offset, md.md_device_size_bytes, md.backing_size_bytes, &md.layout, error);
  if (rc != 0) {
    *error = fmt::format("{}: {}", paths.md_path(), *error);
    if (result) *result = DecodeResult::Insane;
    return rc;
  }
  *out = std::move(md);
  return 0;
}

int read_md(const MdPaths& paths, Superblock* sb, Layout* layout, std::string* error, DecodeResult* result) {
  OpenMd md;
  int rc = open_md(paths, false, &md, error, result);
  if (rc != 0) return rc;
  *sb = md.sb;
  *layout = md.layout;
  return 0;
}

}  // namespace tandem::meta
