#include "meta/create_md.h"

#include <fmt/format.h>
#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/check.h"
#include "meta/metadata_file.h"

namespace tandem::meta {

namespace {

int check_args(const CreateMdRequest& req, std::string* message) {
  if (req.paths.backing_path.empty()) {
    *message = "no backing disk given";
    return -EINVAL;
  }
  if (req.node_id > kMaxNodeId || req.peer_node_id > kMaxNodeId) {
    *message = fmt::format("node-id {} / peer node-id {}: node-ids must be 0..{}", req.node_id, req.peer_node_id,
                           kMaxNodeId);
    return -EINVAL;
  }
  if (req.node_id == req.peer_node_id) {
    *message = fmt::format("node-id and peer node-id are both {}; they must differ", req.node_id);
    return -EINVAL;
  }
  if (req.al_extents < kAlExtentsMin || req.al_extents > kAlExtentsMax) {
    *message = fmt::format("al-extents {} is outside {}..{}", req.al_extents, kAlExtentsMin, kAlExtentsMax);
    return -EINVAL;
  }
  return 0;
}

// Looks for tandem metadata where the new superblock goes. 0 if there is none; -EEXIST with a message
// naming what is there otherwise (valid, damaged or of another version).
int check_existing_metadata(int fd, const Layout& layout, const std::string& path, std::string* message) {
  Superblock old;
  std::string why;
  DecodeResult r = DecodeResult::Ok;
  int rc = read_superblock(fd, layout.sb_offset_bytes, &old, &why, &r);
  if (rc == -ENODATA) return 0;
  if (rc != 0 && r == DecodeResult::Ok) {  // I/O error, not a decode result.
    *message = fmt::format("{}: {}", path, why);
    return rc;
  }
  switch (r) {
    case DecodeResult::Ok:
      *message = fmt::format(
          "found existing tandem metadata on {} (format version {}, device uuid {:016x}, data size {} bytes, "
          "write sequence {}); use --force to overwrite it",
          path, old.format_version, old.device_uuid, old.data_size_bytes, old.write_sequence);
      break;
    case DecodeResult::UnsupportedVersion:
      *message = fmt::format("found tandem metadata of format version {} on {}, which this build (version {}) "
                             "does not support; use --force to overwrite it",
                             old.format_version, path, kFormatVersion);
      break;
    default:
      *message = fmt::format("found existing tandem metadata on {}, but it is damaged ({}); use --force to "
                             "overwrite it",
                             path, why);
      break;
  }
  return -EEXIST;
}

std::string describe(const FoundSignature& s) {
  std::string kind = s.usage == "filesystem"        ? "filesystem"
                     : s.usage == "raid"            ? "RAID member"
                     : s.usage == "crypto"          ? "encrypted volume"
                     : s.usage == "partition table" ? "partition table"
                                                    : s.usage + " (" + s.type + ")";
  std::string text = s.type + " " + kind + " signature";
  bool vowel = !s.type.empty() && std::strchr("aeiouAEIOU", s.type[0]) != nullptr;
  return (vowel ? "an " : "a ") + text;
}

// Refuses (-EEXIST) if a probe finds a signature whose data lies in or may extend into the metadata area.
int check_signatures(const CreateMdRequest& req, int fd, uint64_t device_size_bytes, const Layout& layout,
                     const std::string& path, std::string* message) {
  std::vector<FoundSignature> found;
  std::string why;
  int rc = req.probe(fd, 0, 0, &found, &why);
  // Signatures that start inside the area (e.g. a filesystem that begins there) are only seen when the area
  // is probed as a device of its own.
  if (rc == 0 && layout.md_offset_bytes != 0) rc = req.probe(fd, layout.md_offset_bytes, 0, &found, &why);
  if (rc != 0) {
    *message = fmt::format("probing {} for existing data failed: {}", path, why);
    return rc;
  }
  uint64_t area_begin = layout.md_offset_bytes;
  uint64_t area_end = layout.md_offset_bytes + layout.md_size_bytes;
  for (const FoundSignature& s : found) {
    if (s.magic_offset_bytes >= area_begin && s.magic_offset_bytes < area_end) {
      *message = fmt::format("found {} at offset {} in the area create-md would overwrite (offsets {} to {} of {}); "
                             "use --force to overwrite",
                             describe(s), s.magic_offset_bytes, area_begin, area_end - 1, path);
      return -EEXIST;
    }
    uint64_t end = s.end_bytes != 0 ? s.end_bytes : device_size_bytes;
    if (s.magic_offset_bytes < area_begin && end > area_begin) {
      *message = fmt::format("found {} at offset {} on {}; what it describes may extend into the area create-md "
                             "would overwrite (offsets {} to {}, the last {}); shrink it first or use --force to overwrite",
                             describe(s), s.magic_offset_bytes, path, area_begin, area_end - 1,
                             format_size(area_end - area_begin));
      return -EEXIST;
    }
  }
  return 0;
}

uint64_t random_nonzero_u64() {
  uint64_t v = 0;
  while (v == 0) {
    // getrandom of 8 bytes from the urandom pool does not fail short once the pool is initialised.
    if (::getrandom(&v, sizeof v, 0) != sizeof v) v = 0;
  }
  return v;
}

// Check after writing: read everything back through the same path a reader uses.
int verify(const CreateMdRequest& req, const Superblock& want_sb, const Layout& want_layout, std::string* message) {
  OpenMd md;
  std::string why;
  int rc = open_md(req.paths, false, &md, &why);
  if (rc != 0) {
    *message = "reading back the new metadata failed: " + why;
    return rc;
  }
  if (!(md.sb == want_sb) || md.layout.md_offset_bytes != want_layout.md_offset_bytes ||
      md.layout.data_size_bytes != want_layout.data_size_bytes ||
      md.layout.bm_offset_bytes != want_layout.bm_offset_bytes) {
    *message = fmt::format("the metadata read back from {} differs from what was written", req.paths.md_path());
    return -EIO;
  }
  std::vector<uint64_t> words;
  rc = read_bitmap(md.md_fd.get(), md.layout, &words, &why);
  if (rc != 0) {
    *message = "reading back the new bitmap failed: " + why;
    return rc;
  }
  if (std::any_of(words.begin(), words.end(), [](uint64_t w) { return w != 0; })) {
    *message = fmt::format("the bitmap read back from {} is not all zero", req.paths.md_path());
    return -EIO;
  }
  return 0;
}

}  // namespace

int create_md(const CreateMdRequest& req, std::string* message) {
  TANDEM_CHECK_MSG(req.probe != nullptr, "create_md needs a signature probe");
  int rc = check_args(req, message);
  if (rc != 0) return rc;
  const std::string& md_path = req.paths.md_path();

  UniqueFd md_fd;
  uint64_t md_size = 0, backing_size = 0;
  std::string why;
  rc = open_device(md_path, true, &md_fd, &md_size, &why);
  if (rc == 0 && req.paths.internal()) {
    backing_size = md_size;
  } else if (rc == 0) {
    UniqueFd backing;
    rc = open_device(req.paths.backing_path, false, &backing, &backing_size, &why);
  }
  if (rc != 0) {
    *message = why;
    return rc;
  }

  Layout layout;
  LayoutRequest lreq{req.paths.kind(), backing_size, md_size, kPeerSlots};
  rc = compute_layout(lreq, &layout, &why);
  if (rc != 0) {
    *message = fmt::format("{}: {}", req.paths.internal() ? req.paths.backing_path : md_path, why);
    return rc;
  }

  if (!req.force) {
    rc = check_existing_metadata(md_fd.get(), layout, md_path, message);
    if (rc == 0) rc = check_signatures(req, md_fd.get(), md_size, layout, md_path, message);
    if (rc != 0) return rc;
  }

  Superblock sb;
  store_layout(layout, &sb);
  sb.flags = kFlagCleanShutdown;  // Not Consistent: the data is Inconsistent until the first sync.
  sb.node_id = req.node_id;
  sb.peer_node_id = req.peer_node_id;
  sb.al_extents = req.al_extents;
  sb.current_uuid = kUuidJustCreated;
  sb.device_uuid = random_nonzero_u64();

  // Invalidate any old superblock first, so a crash part-way leaves "no metadata" rather than an old
  // superblock in front of a new, zeroed bitmap.
  int fd = md_fd.get();
  rc = zero_region(fd, layout.sb_offset_bytes, kSuperblockSizeBytes, &why);
  if (rc == 0) rc = zero_al(fd, layout, &why);
  if (rc == 0) rc = zero_region(fd, layout.bm_offset_bytes, layout.bm_size_bytes, &why);
  if (rc == 0) rc = write_superblock(fd, layout.sb_offset_bytes, &sb, &why);
  if (rc != 0) {
    *message = fmt::format("writing metadata to {} failed: {}", md_path, why);
    return rc;
  }
  md_fd.reset();
  rc = verify(req, sb, layout, message);
  if (rc != 0) return rc;

  std::string where = req.paths.internal() ? md_path : fmt::format("{} for {}", md_path, req.paths.backing_path);
  *message = fmt::format("tandem metadata created on {} ({}, data size {} ({} bytes), bitmap {}, device uuid {:016x})",
                         where, md_kind_name(layout.kind), format_size(layout.data_size_bytes),
                         layout.data_size_bytes, format_size(layout.bm_size_bytes), sb.device_uuid);
  return 0;
}

}  // namespace tandem::meta
