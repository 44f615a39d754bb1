// The run-directory record of a ublk device ("RES.ublk"): which /dev/ublkbN this daemon serves, so that a
// daemon restarted after kill -9 takes the same device back with user recovery instead of adding a new one.
// Written right after ADD_DEV succeeds, removed after DEL_DEV. The run directory (/run/tandem) lives as long
// as the kernel does, exactly as long as a ublk device can. Pure: format and parse; the file I/O is in
// ublk_frontend.cc. Format (text, one "key value" per line, docs/kernel-frontends.md):
//   tandem-ublk 1
//   dev-id 3
//   encoding legacy|ioctl
//   pid 1234
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "frontend/ublk/ublk_opcodes.h"

namespace tandem::ublk {

inline constexpr int kRecordVersion = 1;

struct Record {
  uint32_t dev_id = 0;
  Encoding encoding = Encoding::Legacy;
  int32_t pid = 0;  // The daemon that wrote it (for log lines).
};

std::string format_record(const Record& r);
// False with *error for anything but a version-1 record with all three fields.
bool parse_record(std::string_view text, Record* out, std::string* error);

}  // namespace tandem::ublk
