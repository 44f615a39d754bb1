#include "frontend/fuse_loop/mount_table.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"

namespace tandem {
namespace {

// Splits on single spaces; mountinfo never has empty fields because blanks inside fields are escaped.
std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < line.size()) {
    size_t end = line.find(' ', pos);
    if (end == std::string_view::npos) end = line.size();
    if (end > pos) out.push_back(line.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

bool parse_uint(std::string_view s, unsigned* out) {
  if (s.empty() || s.size() > 9) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::string unescape_mount_field(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      // Exactly three octal digits follow.
      std::string_view d = field.substr(i + 1, 3);
      if (d[0] >= '0' && d[0] <= '3' && d[1] >= '0' && d[1] <= '7' && d[2] >= '0' && d[2] <= '7') {
        out.push_back(static_cast<char>((d[0] - '0') * 64 + (d[1] - '0') * 8 + (d[2] - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(field[i]);
  }
  return out;
}

std::vector<MountEntry> parse_mountinfo(std::string_view text) {
  // Line: id parent major:minor root mount_point options [optional fields...] - fstype source super_options
  std::vector<MountEntry> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;

    std::vector<std::string_view> f = split_fields(line);
    if (f.size() < 10) continue;
    size_t dash = 0;
    for (size_t i = 6; i < f.size(); ++i) {
      if (f[i] == "-") {
        dash = i;
        break;
      }
    }
    if (dash == 0 || dash + 2 >= f.size()) continue;
    size_t colon = f[2].find(':');
    if (colon == std::string_view::npos) continue;
    MountEntry e;
    if (!parse_uint(f[2].substr(0, colon), &e.major) || !parse_uint(f[2].substr(colon + 1), &e.minor)) continue;
    e.mount_point = unescape_mount_field(f[4]);
    e.fstype = unescape_mount_field(f[dash + 1]);
    e.source = unescape_mount_field(f[dash + 2]);
    out.push_back(std::move(e));
  }
  return out;
}

int read_mountinfo(std::vector<MountEntry>* out, std::string* error) {
  UniqueFd fd(::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    int e = errno;
    *error = std::string("open /proc/self/mountinfo: ") + std::strerror(e);
    return -e;
  }
  std::string text;
  char buf[16384];
  // Bounded: a mount table larger than 64 MiB means something is badly wrong; stop reading.
  constexpr size_t kMaxBytes = 64u << 20;
  while (text.size() < kMaxBytes) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      *error = std::string("read /proc/self/mountinfo: ") + std::strerror(e);
      return -e;
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  *out = parse_mountinfo(text);
  return 0;
}

bool is_mount_point(const std::vector<MountEntry>& mounts, const std::string& path) {
  for (const MountEntry& m : mounts) {
    if (m.mount_point == path) return true;
  }
  return false;
}

}  // namespace tandem
