#include "common/key_value_record.h"

#include <fmt/format.h>

namespace tandem {

bool read_key_value_record(std::string_view text, std::string_view kind, int version,
                           const std::function<bool(std::string_view key, std::string_view value)>& field,
                           std::string* error) {
  bool have_header = false;
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
    if (key == kind) {
      int v = 0;
      ok = parse_record_number(value, &v);
      if (ok && v != version) {
        *error = fmt::format("record version {} (this build reads version {})", v, version);
        return false;
      }
      have_header = ok;
    } else {
      ok = field(key, value);
    }
    if (!ok) {
      *error = fmt::format("line {}: cannot read '{}'", line_no, line);
      return false;
    }
  }
  if (!have_header) {
    *error = fmt::format("incomplete record (no '{} {}' line)", kind, version);
    return false;
  }
  return true;
}

}  // namespace tandem
