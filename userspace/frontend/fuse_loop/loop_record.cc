#include "frontend/fuse_loop/loop_record.h"

#include <fmt/format.h>

#include "common/key_value_record.h"

namespace tandem {

std::string format_loop_record(const LoopRecord& r) {
  std::string out = fmt::format("tandem-loop {}\nloop-index {}\nbacking {}\npid {}\n", kLoopRecordVersion, r.index,
                                r.backing, r.pid);
  if (!r.backing_dev.empty()) out += fmt::format("backing-dev {}\nbacking-inode {}\n", r.backing_dev, r.backing_inode);
  return out;
}

bool parse_loop_record(std::string_view text, LoopRecord* out, std::string* error) {
  bool have_index = false, have_backing = false, have_pid = false;
  LoopRecord r;
  auto field = [&](std::string_view key, std::string_view value) {
    if (key == "loop-index") return have_index = parse_record_number(value, &r.index) && r.index >= 0;
    if (key == "backing") {
      r.backing = std::string(value);
      return have_backing = !value.empty() && value[0] == '/';
    }
    if (key == "pid") return have_pid = parse_record_number(value, &r.pid);
    if (key == "backing-dev") {
      size_t colon = value.find(':');
      uint32_t major = 0, minor = 0;
      r.backing_dev = std::string(value);
      return colon != std::string_view::npos && parse_record_number(value.substr(0, colon), &major) &&
             parse_record_number(value.substr(colon + 1), &minor);
    }
    if (key == "backing-inode") return parse_record_number(value, &r.backing_inode);
    return true;
  };
  if (!read_key_value_record(text, "tandem-loop", kLoopRecordVersion, field, error)) return false;
  if (!have_index || !have_backing || !have_pid) {
    *error = "incomplete record (needs tandem-loop, loop-index, backing, pid)";
    return false;
  }
  *out = r;
  return true;
}

bool loop_record_matches(const LoopRecord& r, std::string_view backing_now, std::string_view dev_now,
                         uint64_t inode_now) {
  bool path = backing_now == r.backing || backing_now == "/data" || backing_now == "/data (deleted)";
  bool identity = r.backing_dev.empty() || (dev_now == r.backing_dev && inode_now == r.backing_inode);
  return path && identity;
}

}  // namespace tandem
