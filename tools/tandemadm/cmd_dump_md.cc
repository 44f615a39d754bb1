// dump-md RES: print this node's metadata superblock (DRBD's `drbdadm dump-md`, without the bitmap).
// Read-only; works while the daemon runs, but then shows the last state the daemon wrote.
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "cli_common.h"
#include "commands.h"
#include "meta/al_ring.h"
#include "meta/md_device.h"
#include "meta/metadata_file.h"

namespace tandem::adm {
namespace {

// Generation identifiers in DRBD's notation: 16 upper-case hex digits.
std::string hex_uuid(uint64_t v) { return fmt::format("{:016X}", v); }

// The activity-log ring and the bitmap, as a restart after an unclean stop would use them (docs/states.md).
void print_activity_log(const meta::MdPaths& paths, const meta::Superblock& sb) {
  meta::OpenMd md;
  std::string error;
  std::vector<uint8_t> ring;
  std::vector<uint64_t> words;
  if (meta::open_md(paths, false, &md, &error) != 0 || meta::read_al_ring(md.md_fd.get(), md.layout, &ring, &error) != 0 ||
      meta::read_bitmap(md.md_fd.get(), md.layout, &words, &error) != 0) {
    fmt::print("# activity log: cannot read: {}\n", error);
    return;
  }
  uint64_t bits = 0;
  for (uint64_t w : words) bits += static_cast<uint64_t>(__builtin_popcountll(w));
  meta::AlRecovery al = meta::recover_al(ring);
  fmt::print("# activity log ({} slots of {} bytes; extents of {})\n", meta::kAlSlots, meta::kAlSlotBytes,
             meta::format_size(meta::kAlExtentBytes));
  fmt::print("al-kept:           {}\n", sb.has(meta::kFlagActivityLog) ? "yes" : "no (an unclean stop marks everything)");
  fmt::print("al-newest-tx:      {}\n", al.last_seq);
  if (!al.ok) {
    fmt::print("al-state:          damaged: {}\n", al.problem);
  } else {
    std::string ext;
    for (size_t i = 0; i < al.extents.size() && i < 64; i++) ext += fmt::format("{}{}", i ? " " : "", al.extents[i]);
    if (al.extents.size() > 64) ext += " ...";
    fmt::print("al-state:          {}{}\n", al.damaged_slots ? "usable, " : "intact", al.problem.empty() ? "" : al.problem);
    fmt::print("al-active:         {} extents ({}){}{}\n", al.extents.size(),
               meta::format_size(al.extents.size() * meta::kAlExtentBytes), ext.empty() ? "" : ": ", ext);
  }
  fmt::print("bitmap-out-of-sync: {} blocks ({})\n", bits, meta::format_size(bits * meta::kBitmapBlockSizeBytes));
}

int run_dump_md(const CommandArgs& args) {
  boost::program_options::options_description none;
  boost::program_options::variables_map vm;
  parse_command_options(kCommand_dump_md, args, none, nullptr, &vm);
  config::Config cfg = load_config(args.global);
  const config::ResourceConfig& r = find_resource(cfg, args.resource);
  LocalAndPeer hosts = resolve_hosts(args.global, r);
  meta::MdPaths paths{hosts.local->volume.disk, hosts.local->volume.meta_disk};

  meta::Superblock sb;
  meta::Layout layout;
  std::string error;
  if (meta::read_md(paths, &sb, &layout, &error) != 0) cli_fail(kExitFailed, "{}", error);

  std::string history;
  for (uint64_t h : sb.history_uuids) history += (history.empty() ? "" : ",") + hex_uuid(h);
  fmt::print("# tandem metadata of resource {} on {} ({} meta-disk)\n", r.name, paths.md_path(),
             meta::md_kind_name(layout.kind));
  fmt::print("format-version:    {}\n", sb.format_version);
  fmt::print("flags:             {}\n", meta::flags_to_string(sb.flags));
  fmt::print("data-size:         {} bytes ({})\n", sb.data_size_bytes, meta::format_size(sb.data_size_bytes));
  fmt::print("bitmap-block-size: {} bytes\n", sb.bitmap_block_size_bytes);
  fmt::print("node-id:           {}\n", sb.node_id);
  fmt::print("peer-node-id:      {}\n", sb.peer_node_id);
  fmt::print("peer-slots:        {}\n", sb.peer_slots);
  fmt::print("device-uuid:       {}\n", hex_uuid(sb.device_uuid));
  fmt::print("write-sequence:    {}\n", sb.write_sequence);
  fmt::print("current-uuid:      {}\n", hex_uuid(sb.current_uuid));
  fmt::print("bitmap-uuid:       {}\n", hex_uuid(sb.bitmap_uuid));
  fmt::print("history-uuids:     {}\n", history);
  fmt::print("al-extents:        {}\n", sb.al_extents);
  fmt::print("# layout: absolute byte offsets on {}\n", paths.md_path());
  fmt::print("md-area:           offset {} size {} ({})\n", layout.md_offset_bytes, layout.md_size_bytes,
             meta::format_size(layout.md_size_bytes));
  fmt::print("superblock:        offset {}\n", layout.sb_offset_bytes);
  fmt::print("activity-log:      offset {} size {}\n", layout.al_offset_bytes, layout.al_size_bytes);
  fmt::print("bitmap:            offset {} size {}\n", layout.bm_offset_bytes, layout.bm_size_bytes);
  print_activity_log(paths, sb);
  return kExitOk;
}

}  // namespace

const Command kCommand_dump_md = {"dump-md", ResourceArg::Required, "RES",
                                  "print this node's metadata superblock and layout", run_dump_md};

}  // namespace tandem::adm
