// The run-directory record of the loop device the FUSE+loop frontend attached ("RES.loop").
//
// Why it exists: the daemon runs in its own mount namespace (tandemd_main.cc), so its FUSE mount is visible
// only there. While the daemon lives, /sys/block/loopN/loop/backing_file reads RUN_DIR/fuse-RES/data from any
// namespace; once the daemon is gone (kill -9) its namespace and the FUSE mount go with it and the loop device,
// still bound to the dead file, shows only "/data". Then nothing but this record says which loop device was
// ours: the next start of the frontend and the tests' cleanup detach it by it. Written right after the attach,
// removed once the detach is requested. Pure: format and parse; file I/O in fuse_loop_frontend.cc.
// Format (text, one "key value" per line, docs/kernel-frontends.md):
//   tandem-loop 1
//   loop-index 3
//   backing /run/tandem/fuse-r0/data
//   pid 1234
//   backing-dev 0:52        (optional: the FUSE file's identity as the loop driver holds it, lo_device and
//   backing-inode 1          lo_inode; losetup's BACK-MAJ:MIN and BACK-INO show the same)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tandem {

inline constexpr int kLoopRecordVersion = 1;

struct LoopRecord {
  int index = -1;         // N of /dev/loopN
  std::string backing;    // the FUSE file as this daemon saw it
  int32_t pid = 0;        // the daemon that wrote it (log lines)
  // Identity of the FUSE file ("MAJ:MIN", inode), empty/0 in records without it. A path of "/data" is what
  // every FUSE file of another mount namespace reads as, so the path alone cannot tell our dead device from
  // another resource's live one that reuses the number; the identity can.
  std::string backing_dev;
  uint64_t backing_inode = 0;
};

std::string format_loop_record(const LoopRecord& r);
// False with *error for anything but a version-1 record with all three fields.
bool parse_loop_record(std::string_view text, LoopRecord* out, std::string* error);

// Whether a loop device whose sysfs backing_file reads `backing_now`, with backing identity `dev_now` /
// `inode_now`, is still the one `r` describes: the same path (its daemon's mount namespace still exists), or
// "/data", what a FUSE file of a vanished namespace reads as (our FUSE file is always "data" at the root of
// its mount) — and, when the record has it, the same identity.
bool loop_record_matches(const LoopRecord& r, std::string_view backing_now, std::string_view dev_now,
                         uint64_t inode_now);

}  // namespace tandem
