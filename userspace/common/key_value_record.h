// The small text records tandem keeps in its run directory (RES.loop, RES.ublk): one "key value" per line, a
// header line "KIND VERSION" naming the format and its version, unknown keys ignored (a later version's
// additions). One reader for all of them, so each format only says what its keys mean.
#pragma once

#include <charconv>
#include <functional>
#include <string>
#include <string_view>

namespace tandem {

// Calls `field(key, value)` for every non-empty line but the header; `field` returns false when it knows the
// key and cannot read the value. False with *error ("line N: cannot read '...'", "incomplete record" without
// the header, or "record version V (this build reads version W)") when the text is not a version-`version`
// record of `kind`.
bool read_key_value_record(std::string_view text, std::string_view kind, int version,
                           const std::function<bool(std::string_view key, std::string_view value)>& field,
                           std::string* error);

// A whole decimal number, nothing else.
template <typename T>
bool parse_record_number(std::string_view s, T* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace tandem
