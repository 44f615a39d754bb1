#include "frontend/ublk/ublk_record.h"

#include <charconv>

#include <fmt/format.h>

namespace tandem::ublk {

std::string format_record(const Record& r) {
  return fmt::format("tandem-ublk {}\ndev-id {}\nencoding {}\npid {}\n", kRecordVersion, r.dev_id,
                     encoding_name(r.encoding), r.pid);
}

namespace {

template <typename T>
bool parse_number(std::string_view s, T* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

bool parse_record(std::string_view text, Record* out, std::string* error) {
  bool have_version = false, have_id = false, have_encoding = false, have_pid = false;
  Record r;
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
    if (key == "tandem-ublk") {
      int version = 0;
      ok = parse_number(value, &version);
      if (ok && version != kRecordVersion) {
        *error = fmt::format("record version {} (this build reads version {})", version, kRecordVersion);
        return false;
      }
      have_version = ok;
    } else if (key == "dev-id") {
      ok = have_id = parse_number(value, &r.dev_id);
    } else if (key == "encoding") {
      ok = have_encoding = parse_encoding(value, &r.encoding);
    } else if (key == "pid") {
      ok = have_pid = parse_number(value, &r.pid);
    }  // Unknown keys: a later version's additions, ignored.
    if (!ok) {
      *error = fmt::format("line {}: cannot read '{}'", line_no, line);
      return false;
    }
  }
  if (!have_version || !have_id || !have_encoding || !have_pid) {
    *error = "incomplete record (needs tandem-ublk, dev-id, encoding, pid)";
    return false;
  }
  *out = r;
  return true;
}

}  // namespace tandem::ublk
