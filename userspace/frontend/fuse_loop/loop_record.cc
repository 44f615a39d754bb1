#include "frontend/fuse_loop/loop_record.h"

#include <charconv>

#include <fmt/format.h>

namespace tandem {

std::string format_loop_record(const LoopRecord& r) {
  std::string out = fmt::format("tandem-loop {}\nloop-index {}\nbacking {}\npid {}\n", kLoopRecordVersion, r.index,
                                r.backing, r.pid);
  if (!r.backing_dev.empty()) out += fmt::format("backing-dev {}\nbacking-inode {}\n", r.backing_dev, r.backing_inode);
  return out;
}

namespace {

template <typename T>
bool parse_number(std::string_view s, T* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

bool parse_loop_record(std::string_view text, LoopRecord* out, std::string* error) {
  bool have_version = false, have_index = false, have_backing = false, have_pid = false;
  LoopRecord r;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    line_no++;
    if (line.empty()) continue;
    size_t sp = line.find(' ');
    std::string_view key = line.substr(0, sp);
    std::string_view value = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    bool ok = true;
    if (key == "tandem-loop") {
      int version = 0;
      ok = parse_number(value, &version);
      if (ok && version != kLoopRecordVersion) {
        *error = fmt::format("record version {} (this build reads version {})", version, kLoopRecordVersion);
        return false;
      }
      have_version = ok;
    } else if (key == "loop-index") {
      ok = have_index = parse_number(value, &r.index) && r.index >= 0;
    } else if (key == "backing") {
      ok = have_backing = !value.empty() && value[0] == '/';
      r.backing = std::string(value);
    } else if (key == "pid") {
      ok = have_pid = parse_number(value, &r.pid);
    } else if (key == "backing-dev") {
      size_t colon = value.find(':');
      uint32_t major = 0, minor = 0;
      ok = colon != std::string_view::npos && parse_number(value.substr(0, colon), &major) &&
           parse_number(value.substr(colon + 1), &minor);
      r.backing_dev = std::string(value);
    } else if (key == "backing-inode") {
      ok = parse_number(value, &r.backing_inode);
    }  // Unknown keys: a later version's additions, ignored.
    if (!ok) {
      *error = fmt::format("line {}: cannot read '{}'", line_no, line);
      return false;
    }
  }
  if (!have_version || !have_index || !have_backing || !have_pid) {
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
