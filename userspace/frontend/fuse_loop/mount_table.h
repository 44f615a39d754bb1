// Reading /proc/self/mountinfo: which paths are mount points, and which block devices back a mounted filesystem.
//
// Used by the FUSE+loop frontend to find a stale FUSE mount left by a crashed daemon (stat() on a dead FUSE
// mount fails with ENOTCONN, so the mount table is the only reliable witness) and to tell whether the loop
// device carries a mounted filesystem without doing any I/O on it.
// parse_mountinfo is pure; read_mountinfo does the file read.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tandem {

struct MountEntry {
  unsigned major = 0;        // st_dev of the mounted filesystem: for block filesystems, the device itself.
  unsigned minor = 0;
  std::string mount_point;   // Unescaped (mountinfo writes space, tab, newline, backslash as \ooo).
  std::string fstype;        // "fuse.tandem", "ext4", ...
  std::string source;        // "tandem:r0", "/dev/loop3", ...
};

// Parses the text of /proc/<pid>/mountinfo. Malformed lines are skipped (never fatal): the kernel writes this
// file, a line we cannot read only means we know less.
std::vector<MountEntry> parse_mountinfo(std::string_view text);

// Undoes the kernel's octal escaping of mount paths ("\040" -> ' ').
std::string unescape_mount_field(std::string_view field);

// Reads and parses /proc/self/mountinfo. Returns 0 or a negative errno with *error set.
int read_mountinfo(std::vector<MountEntry>* out, std::string* error);

// True when `path` (absolute, no trailing slash) is a mount point in `mounts`.
bool is_mount_point(const std::vector<MountEntry>& mounts, const std::string& path);

}  // namespace tandem
