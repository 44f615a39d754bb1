// A tiny JSON reader for the one JSON document tandemadm consumes: tandemd's `status-json` body
// (docs/control-protocol.md). It parses into a small tree and looks values up by a dotted path such as
// "connections.0.peer_devices.0.replication-state" (numbers index arrays).
//
// Why not a library: Debian 12 has no header-only JSON library installed by default here, and tandemadm only
// reads a few fields; a bounded ~200-line parser is cheaper than a new dependency.
//
// Bounds: input at most kJsonMaxInputBytes, nesting at most kJsonMaxDepth; anything beyond is a parse error,
// never a crash. Numbers are kept as double (all tandem counters fit exactly below 2^53 bytes = 8 PiB).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::adm {

inline constexpr size_t kJsonMaxInputBytes = 1 << 20;
inline constexpr int kJsonMaxDepth = 32;

struct JsonValue {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<JsonValue> array;
  std::map<std::string, JsonValue, std::less<>> object;  // duplicate keys: the last one wins

  // The value at a dotted path, or nullptr when any step is missing or of the wrong kind.
  const JsonValue* find(std::string_view path) const;
  // Convenience lookups: the value at `path` if it has the right kind, else `fallback`.
  std::string get_string(std::string_view path, std::string_view fallback = "") const;
  double get_number(std::string_view path, double fallback = 0) const;
  bool get_bool(std::string_view path, bool fallback = false) const;
};

// Parses one JSON value (surrounding whitespace allowed). Returns false with *error naming the byte offset.
bool parse_json(std::string_view text, JsonValue* out, std::string* error);

// `s` as a JSON string literal, with quotes and escapes (for the objects tandemadm writes itself).
std::string json_quote(std::string_view s);

}  // namespace tandem::adm
