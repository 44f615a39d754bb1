#include "frontend/ublk/ublk_record.h"

#include <fmt/format.h>

#include "common/key_value_record.h"

namespace tandem::ublk {

std::string format_record(const Record& r) {
  return fmt::format("tandem-ublk {}\ndev-id {}\nencoding {}\npid {}\n", kRecordVersion, r.dev_id,
                     encoding_name(r.encoding), r.pid);
}

bool parse_record(std::string_view text, Record* out, std::string* error) {
  bool have_id = false, have_encoding = false, have_pid = false;
  Record r;
  auto field = [&](std::string_view key, std::string_view value) {
    if (key == "dev-id") return have_id = parse_record_number(value, &r.dev_id);
    if (key == "encoding") return have_encoding = parse_encoding(value, &r.encoding);
    if (key == "pid") return have_pid = parse_record_number(value, &r.pid);
    return true;
  };
  if (!read_key_value_record(text, "tandem-ublk", kRecordVersion, field, error)) return false;
  if (!have_id || !have_encoding || !have_pid) {
    *error = "incomplete record (needs tandem-ublk, dev-id, encoding, pid)";
    return false;
  }
  *out = r;
  return true;
}

}  // namespace tandem::ublk
