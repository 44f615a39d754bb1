#include "config/keywords.h"

#include <fmt/format.h>

#include <array>
#include <limits>
#include <span>

namespace tandem::config {
namespace {

using V = ValueKind;

// Ranges follow drbd.conf-9.0(5) and drbd_limits.h where they are documented; units are DRBD's
// (timeouts in tenths of a second where DRBD says so). Values are kept as written; only the interpreted
// ones (see parser.cc) are converted.
constexpr KeywordSpec kGlobal[] = {
    {"dialog-refresh", V::Integer, 0, 600},
    {"disable-ip-verification", V::Flag},
    {"usage-count", V::Choice, 0, 0, "yes no ask"},
    {"udev-always-use-vnr", V::Flag},
};

constexpr KeywordSpec kNet[] = {
    {"protocol", V::Protocol},
    {"cram-hmac-alg", V::Choice, 0, 0, "sha1 sha256 sha512 md5"},
    {"shared-secret", V::Secret},
    {"after-sb-0pri", V::Choice, 0, 0,
     "disconnect discard-younger-primary discard-older-primary discard-zero-changes discard-least-changes "
     "discard-local discard-remote"},
    {"after-sb-1pri", V::Choice, 0, 0, "disconnect consensus discard-secondary call-pri-lost-after-sb violently-as0p"},
    {"after-sb-2pri", V::Choice, 0, 0, "disconnect call-pri-lost-after-sb violently-as0p"},
    {"always-asbp", V::Flag},
    {"rr-conflict", V::Choice, 0, 0, "disconnect call-pri-lost violently retry-connect auto-discard"},
    {"allow-two-primaries", V::Flag},
    {"verify-alg", V::Word},
    {"csums-alg", V::Word},
    {"csums-after-crash-only", V::Flag},
    {"data-integrity-alg", V::Word},
    {"fencing", V::Choice, 0, 0, "dont-care resource-only resource-and-stonith"},
    {"timeout", V::Integer, 1, 600},         // 0.1 s
    {"connect-int", V::Integer, 1, 120},     // s
    {"ping-int", V::Integer, 1, 120},        // s
    {"ping-timeout", V::Integer, 1, 300},    // 0.1 s
    {"socket-check-timeout", V::Integer, 0, 300},  // 0.1 s
    {"ko-count", V::Integer, 0, 200},
    {"max-buffers", V::Integer, 32, 131072},
    {"max-epoch-size", V::Integer, 1, 20000},
    {"sndbuf-size", V::Size},
    {"rcvbuf-size", V::Size},
    {"on-congestion", V::Choice, 0, 0, "block pull-ahead disconnect"},
    {"congestion-fill", V::Size},
    {"congestion-extents", V::Integer, 67, 65534},
    {"transport", V::Choice, 0, 0, "tcp rdma lb-tcp"},
    {"tcp-cork", V::Flag},
    {"use-rle", V::Flag},
    {"allow-remote-read", V::Flag},
    {"tls", V::Flag},
};

// Peer-device options (resync-rate, c-*) are accepted in the disk section, as DRBD does for compatibility.
constexpr KeywordSpec kDisk[] = {
    {"al-extents", V::Integer, 7, 65534},
    {"al-updates", V::Flag},
    {"disk-barrier", V::Flag},
    {"disk-flushes", V::Flag},
    {"disk-drain", V::Flag},
    {"md-flushes", V::Flag},
    {"disk-timeout", V::Integer, 0, 6000},  // 0.1 s
    {"on-io-error", V::Choice, 0, 0, "pass_on call-local-io-error detach"},
    {"read-balancing", V::Choice, 0, 0,
     "prefer-local prefer-remote round-robin least-pending when-congested-remote 32K-striping 64K-striping "
     "128K-striping 256K-striping 512K-striping 1M-striping"},
    {"resync-after", V::Word},
    {"rs-discard-granularity", V::Size},
    {"discard-zeroes-if-aligned", V::Flag},
    {"disable-write-same", V::Flag},
    {"resync-rate", V::Size},
    {"c-plan-ahead", V::Integer, 0, 300},    // 0.1 s
    {"c-delay-target", V::Integer, 1, 100},  // 0.1 s
    {"c-fill-target", V::Size},
    {"c-max-rate", V::Size},
    {"c-min-rate", V::Size},
};

constexpr KeywordSpec kOptions[] = {
    {"auto-promote", V::Flag},
    {"cpu-mask", V::Word},
    {"on-no-data-accessible", V::Choice, 0, 0, "io-error suspend-io"},
    {"on-no-quorum", V::Choice, 0, 0, "io-error suspend-io"},
    {"on-suspended-primary-outdated", V::Choice, 0, 0, "disconnect force-secondary"},
    {"peer-ack-window", V::Size},
    {"peer-ack-delay", V::Integer, 1, 10000},  // ms
    {"quorum", V::Quorum},
    {"quorum-minimum-redundancy", V::Quorum},
    {"twopc-timeout", V::Integer, 50, 600},     // 0.1 s
    {"twopc-retry-timeout", V::Integer, 1, 50},  // 0.1 s
    {"max-io-depth", V::Integer, 4, 4096},
    // tandem only: which kernel device the Primary gets (auto: ublk, else kernel NBD, else FUSE + loop).
    {"frontend", V::Choice, 0, 0, "auto ublk kernel-nbd fuse-loop"},
    // tandem only: how long a restarted daemon keeps the ublk device of a crashed run waiting for `primary`
    // before it stops it (its I/O then fails) and deletes it (s; 0: at once).
    {"ublk-recovery-grace", V::Integer, 0, 86400},
};

constexpr KeywordSpec kHandlers[] = {
    {"after-resync-target", V::Command}, {"before-resync-target", V::Command},
    {"before-resync-source", V::Command}, {"out-of-sync", V::Command},
    {"quorum-lost", V::Command},         {"fence-peer", V::Command},
    {"unfence-peer", V::Command},        {"initial-split-brain", V::Command},
    {"local-io-error", V::Command},      {"pri-lost", V::Command},
    {"pri-lost-after-sb", V::Command},   {"pri-on-incon-degr", V::Command},
    {"split-brain", V::Command},         {"disconnected", V::Command},
};

constexpr KeywordSpec kStartup[] = {
    {"wfc-timeout", V::Integer, 0, 300000},           // s
    {"degr-wfc-timeout", V::Integer, 0, 300000},      // s
    {"outdated-wfc-timeout", V::Integer, 0, 300000},  // s
    {"wait-after-sb", V::Flag},
    {"stacked-timeouts", V::Flag},
};

std::span<const KeywordSpec> table(SectionKind s) {
  switch (s) {
    case SectionKind::Global: return kGlobal;
    case SectionKind::Net: return kNet;
    case SectionKind::Disk: return kDisk;
    case SectionKind::Options: return kOptions;
    case SectionKind::Handlers: return kHandlers;
    case SectionKind::Startup: return kStartup;
  }
  return {};
}

constexpr std::array kAllSections = {SectionKind::Global,  SectionKind::Net,      SectionKind::Disk,
                                     SectionKind::Options, SectionKind::Handlers, SectionKind::Startup};

bool in_choices(std::string_view choices, std::string_view v) {
  size_t pos = 0;
  while (pos < choices.size()) {
    size_t end = choices.find(' ', pos);
    if (end == std::string_view::npos) end = choices.size();
    if (choices.substr(pos, end - pos) == v) return true;
    pos = end + 1;
  }
  return false;
}

std::string choices_for_message(std::string_view choices) {
  std::string out;
  size_t pos = 0;
  while (pos < choices.size()) {
    size_t end = choices.find(' ', pos);
    if (end == std::string_view::npos) end = choices.size();
    if (!out.empty()) out += ", ";
    out.append(choices.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

// Word values must be one plausible token: letters, digits and a few punctuation characters.
bool is_plain_word(std::string_view v) {
  if (v.empty()) return false;
  for (char c : v) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.' || c == '/' || c == ',' || c == '(' || c == ')' || c == ':';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string_view section_name(SectionKind s) {
  switch (s) {
    case SectionKind::Global: return "global";
    case SectionKind::Net: return "net";
    case SectionKind::Disk: return "disk";
    case SectionKind::Options: return "options";
    case SectionKind::Handlers: return "handlers";
    case SectionKind::Startup: return "startup";
  }
  return "?";
}

const KeywordSpec* find_keyword(SectionKind section, std::string_view name) {
  for (const KeywordSpec& k : table(section))
    if (k.name == name) return &k;
  return nullptr;
}

std::vector<SectionKind> sections_with_keyword(std::string_view name) {
  std::vector<SectionKind> out;
  for (SectionKind s : kAllSections)
    if (find_keyword(s, name) != nullptr) out.push_back(s);
  return out;
}

bool parse_integer(std::string_view text, long long min, long long max, long long* value) {
  if (text.empty() || text.size() > 18) return false;  // 18 digits cannot overflow a long long
  long long v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < min || v > max) return false;
  *value = v;
  return true;
}

bool parse_size_bytes(std::string_view text, unsigned long long default_unit_bytes, unsigned long long* bytes) {
  if (text.empty()) return false;
  unsigned long long unit = default_unit_bytes;
  char last = text.back();
  if (last < '0' || last > '9') {
    switch (last) {
      case 's': case 'S': unit = 512; break;
      case 'k': case 'K': unit = 1ULL << 10; break;
      case 'm': case 'M': unit = 1ULL << 20; break;
      case 'g': case 'G': unit = 1ULL << 30; break;
      default: return false;
    }
    text.remove_suffix(1);
  }
  long long n = 0;
  if (!parse_integer(text, 0, std::numeric_limits<long long>::max(), &n)) return false;
  unsigned long long un = static_cast<unsigned long long>(n);
  if (unit != 0 && un > std::numeric_limits<unsigned long long>::max() / unit) return false;
  *bytes = un * unit;
  return true;
}

bool validate_value(const KeywordSpec& spec, const std::vector<std::string>& values, std::string* normalised,
                    std::string* error) {
  const std::string_view name = spec.name;
  if (spec.kind == V::Flag) {
    if (values.empty()) {
      *normalised = "yes";
      return true;
    }
    if (values.size() == 1 && (values[0] == "yes" || values[0] == "no")) {
      *normalised = values[0];
      return true;
    }
    *error = fmt::format("invalid value '{}' for {} (expected yes or no)", values[0], name);
    return false;
  }
  if (values.empty()) {
    *error = fmt::format("missing value for {}", name);
    return false;
  }
  if (values.size() > 1) {
    *error = fmt::format("too many values for {} (unexpected '{}')", name, values[1]);
    return false;
  }
  const std::string& v = values[0];
  switch (spec.kind) {
    case V::Flag: break;  // handled above
    case V::Choice:
      // discard-node-NAME names a node, so it cannot be in the fixed list.
      if (in_choices(spec.choices, v) || (name == "after-sb-0pri" && v.starts_with("discard-node-") && v.size() > 13)) {
        *normalised = v;
        return true;
      }
      *error = fmt::format("invalid value '{}' for {} (expected one of: {})", v, name, choices_for_message(spec.choices));
      return false;
    case V::Integer: {
      long long n = 0;
      if (!parse_integer(v, spec.min, spec.max, &n)) {
        *error = fmt::format("invalid value '{}' for {} (expected an integer from {} to {})", v, name, spec.min, spec.max);
        return false;
      }
      *normalised = std::to_string(n);
      return true;
    }
    case V::Size: {
      unsigned long long b = 0;
      if (!parse_size_bytes(v, 1, &b)) {
        *error = fmt::format("invalid value '{}' for {} (expected a number with optional K, M or G suffix)", v, name);
        return false;
      }
      *normalised = v;
      return true;
    }
    case V::Word:
      if (!is_plain_word(v)) {
        *error = fmt::format("invalid value '{}' for {}", v, name);
        return false;
      }
      *normalised = v;
      return true;
    case V::Command:
      if (v.empty()) {
        *error = fmt::format("empty command for handler {}", name);
        return false;
      }
      *normalised = v;
      return true;
    case V::Protocol:
      if (v == "A" || v == "B" || v == "C") {
        *normalised = v;
        return true;
      }
      *error = fmt::format("invalid value '{}' for protocol (expected A, B or C)", v);
      return false;
    case V::Secret:
      if (v.empty() || v.size() > 64) {
        *error = fmt::format("shared-secret must be 1 to 64 characters long (got {})", v.size());
        return false;
      }
      *normalised = v;
      return true;
    case V::Quorum: {
      long long n = 0;
      if (v == "off" || v == "majority" || v == "all" || parse_integer(v, 1, 32, &n)) {
        *normalised = v;
        return true;
      }
      *error = fmt::format("invalid value '{}' for {} (expected off, majority, all or 1..32)", v, name);
      return false;
    }
  }
  *error = "internal error: unhandled value kind";
  return false;
}

}  // namespace tandem::config
