// The DRBD option keywords tandem knows, per section, and how each value is validated and normalised.
// One table (keywords.cc) so that adding a keyword is one line; unknown keywords are errors, never ignored,
// because a misspelt option silently falling back to a default is how data gets lost.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tandem::config {

enum class SectionKind { Global, Net, Disk, Options, Handlers, Startup };

std::string_view section_name(SectionKind s);

enum class ValueKind {
  Flag,      // no value (= yes), or yes|no
  Choice,    // one of a fixed list
  Integer,   // decimal integer in [min, max]
  Size,      // decimal integer with optional K/M/G (or s = sectors) suffix
  Word,      // a single free-form token (algorithm names, resource names, masks)
  Command,   // a handler command line, usually quoted
  Protocol,  // A, B or C
  Secret,    // shared-secret: at most 64 bytes
  Quorum,    // off|majority|all or an integer 1..32
};

struct KeywordSpec {
  std::string_view name;
  ValueKind kind;
  long long min = 0;
  long long max = 0;
  std::string_view choices = {};  // space-separated, for Choice
};

// nullptr when `name` is not a keyword of that section.
const KeywordSpec* find_keyword(SectionKind section, std::string_view name);
// Sections (other than `section`) that do know `name`; used for "belongs in the disk section" hints.
std::vector<SectionKind> sections_with_keyword(std::string_view name);

// Validates `values` (the tokens after the keyword) and produces the normalised value.
// On error returns false with a message without location, e.g. "invalid value 'D' for protocol (expected A, B or C)".
bool validate_value(const KeywordSpec& spec, const std::vector<std::string>& values, std::string* normalised,
                    std::string* error);

// Parses a size with optional K/M/G suffix into bytes (s = 512-byte sectors); `default_unit_bytes` applies to
// plain numbers. Returns false on malformed text or overflow.
bool parse_size_bytes(std::string_view text, unsigned long long default_unit_bytes, unsigned long long* bytes);
// Parses a plain decimal integer in [min, max].
bool parse_integer(std::string_view text, long long min, long long max, long long* value);

}  // namespace tandem::config
