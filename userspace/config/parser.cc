// Recursive-descent parser for DRBD resource files. Two phases:
//   1. read: tokens → "raw" structures that remember where each thing was written (files are parsed one
//      after another as includes are met, all into one ParseState);
//   2. finish: inherit common → resource, merge resource-level volume settings into hosts, check the
//      cross-field rules (two hosts, node ids, required keys) and produce the validated Config.
// Every error is reported once, as "FILE:LINE: message", and parsing stops at the first error.
#include <fmt/format.h>

#include <array>
#include <optional>

#include "config/config.h"
#include "config/config_files.h"
#include "config/keywords.h"
#include "config/lexer.h"

namespace tandem::config {
namespace {

// A resource name becomes part of paths (run directory, sockets), so keep it to safe characters.
constexpr size_t kResourceNameBytesMax = 64;
constexpr size_t kHostNameBytesMax = 255;
// DRBD allows 2^20 minors.
constexpr long long kMinorMax = (1 << 20) - 1;
constexpr long long kNodeIdMax = 31;

constexpr std::array kOptionSections = {SectionKind::Net, SectionKind::Disk, SectionKind::Options,
                                        SectionKind::Handlers, SectionKind::Startup};
constexpr size_t section_index(SectionKind s) {
  switch (s) {
    case SectionKind::Net: return 0;
    case SectionKind::Disk: return 1;
    case SectionKind::Options: return 2;
    case SectionKind::Handlers: return 3;
    case SectionKind::Startup: return 4;
    case SectionKind::Global: break;
  }
  return 5;
}

struct Loc {
  std::string file;
  int line = 0;
};

struct RawOption {
  std::string key, value;
  Loc loc;
};

struct RawSection {
  bool seen = false;
  Loc loc;
  std::vector<RawOption> options;
};

using RawSections = std::array<RawSection, kOptionSections.size()>;

// Volume keys written at one scope (resource level or one `on` section), implicit or inside `volume 0`.
struct RawVolume {
  bool explicit_volume_seen = false;
  std::optional<Loc> device_loc, disk_loc, meta_disk_loc;
  std::string device;
  int minor = -1;
  std::string disk;
  std::string meta_disk;
};

struct RawHost {
  std::string name;
  Loc loc;
  std::optional<Loc> node_id_loc, address_loc;
  int node_id = -1;
  std::string address;
  uint16_t port = 0;
  RawVolume volume;
};

struct RawResource {
  std::string name;
  Loc loc;
  RawSections sections;
  RawVolume volume;
  std::vector<RawHost> hosts;
};

struct ParseState {
  ConfigFiles* files = nullptr;
  RawSection global;
  bool common_seen = false;
  RawSections common;
  std::vector<RawResource> resources;
  std::vector<std::string> include_stack;  // canonical paths of the files being parsed, outermost first
};

std::string dirname_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool parse_text(std::string_view text, const std::string& file, ParseState* st, std::string* error);

class FileParser {
 public:
  FileParser(std::vector<Token> tokens, std::string file, ParseState* st)
      : toks_(std::move(tokens)), file_(std::move(file)), st_(st) {}

  bool run(std::string* error) {
    bool ok = parse_top();
    if (!ok) *error = error_;
    return ok;
  }

 private:
  std::vector<Token> toks_;
  size_t pos_ = 0;
  std::string file_;
  ParseState* st_;
  std::string error_;

  const Token& peek(size_t ahead = 0) const {
    size_t i = pos_ + ahead;
    return i < toks_.size() ? toks_[i] : toks_.back();
  }
  const Token& next() {
    const Token& t = peek();
    if (pos_ < toks_.size() - 1) ++pos_;
    return t;
  }
  Loc loc(const Token& t) const { return {file_, t.line}; }

  template <typename... Args>
  bool fail_at(int line, fmt::format_string<Args...> f, Args&&... args) {
    error_ = fmt::format("{}:{}: {}", file_, line, fmt::format(f, std::forward<Args>(args)...));
    return false;
  }
  static std::string where(const Loc& l) { return fmt::format("{}:{}", l.file, l.line); }

  bool expect_lbrace(std::string_view what) {
    const Token& t = next();
    if (t.kind != TokenKind::LBrace) return fail_at(t.line, "expected '{{' after {}, found {}", what, describe(t));
    return true;
  }
  bool expect_semicolon(std::string_view after) {
    const Token& t = peek();
    if (t.kind != TokenKind::Semicolon) return fail_at(t.line, "missing ';' after '{}' (found {})", after, describe(t));
    next();
    return true;
  }
  // End of a section body: '}' ends it; End means the '}' is missing.
  bool at_section_end(std::string_view what, int open_line, bool* ok) {
    const Token& t = peek();
    if (t.kind == TokenKind::RBrace) {
      next();
      *ok = true;
      return true;
    }
    if (t.kind == TokenKind::End) {
      *ok = fail_at(t.line, "missing '}}' for {} opened at line {}", what, open_line);
      return true;
    }
    return false;
  }

  // `skip [words...] { ... }`: ignores the block, braces balanced. Called with `skip` consumed.
  bool parse_skip(const Token& skip_tok) {
    while (peek().is_value()) next();
    if (!expect_lbrace("skip")) return false;
    int depth = 1;
    while (depth > 0) {
      const Token& t = next();
      if (t.kind == TokenKind::LBrace) ++depth;
      if (t.kind == TokenKind::RBrace) --depth;
      if (t.kind == TokenKind::End) return fail_at(t.line, "missing '}}' for skip section opened at line {}", skip_tok.line);
    }
    return true;
  }

  // ---- top level ----
  bool parse_top() {
    for (;;) {
      const Token& t = next();
      if (t.kind == TokenKind::End) return true;
      if (t.kind != TokenKind::Word) return fail_at(t.line, "unexpected {} at top level", describe(t));
      if (t.text == "global") {
        if (st_->global.seen) return fail_at(t.line, "duplicate global section (first at {})", where(st_->global.loc));
        if (!parse_option_section(SectionKind::Global, t, &st_->global)) return false;
      } else if (t.text == "common") {
        if (st_->common_seen) return fail_at(t.line, "duplicate common section");
        st_->common_seen = true;
        if (!parse_common(t)) return false;
      } else if (t.text == "resource") {
        if (!parse_resource(t)) return false;
      } else if (t.text == "include") {
        if (!parse_include(t)) return false;
      } else if (t.text == "skip") {
        if (!parse_skip(t)) return false;
      } else {
        return fail_at(t.line, "unknown keyword '{}' at top level (expected global, common, resource, include or skip)",
                       t.text);
      }
    }
  }

  bool parse_include(const Token& inc) {
    const Token& pat = next();
    if (!pat.is_value() || pat.text.empty())
      return fail_at(pat.line, "expected a file pattern after include, found {}", describe(pat));
    if (!expect_semicolon("include " + pat.text)) return false;
    std::string pattern = pat.text;
    if (pattern[0] != '/') {
      std::string dir = dirname_of(file_);
      if (!dir.empty()) pattern = dir == "/" ? "/" + pattern : dir + "/" + pattern;
    }
    std::vector<std::string> paths;
    std::string why;
    if (!st_->files->glob(pattern, &paths, &why))
      return fail_at(inc.line, "cannot expand include pattern '{}': {}", pattern, why);
    if (paths.size() > kIncludeMatchesMax)
      return fail_at(inc.line, "include pattern '{}' matches more than {} files", pattern, kIncludeMatchesMax);
    for (const std::string& path : paths) {
      if (st_->include_stack.size() >= static_cast<size_t>(kIncludeDepthMax))
        return fail_at(inc.line, "includes nested deeper than {} levels (including '{}')", kIncludeDepthMax, path);
      std::string canon = st_->files->canonical(path);
      for (const std::string& open : st_->include_stack) {
        if (open == canon) {
          std::string chain;
          for (const std::string& s : st_->include_stack) chain += s + " -> ";
          return fail_at(inc.line, "include cycle: {}{}", chain, canon);
        }
      }
      std::string text;
      if (!st_->files->read(path, &text, &why))
        return fail_at(inc.line, "cannot read included file '{}': {}", path, why);
      st_->include_stack.push_back(canon);
      bool ok = parse_text(text, path, st_, &error_);
      st_->include_stack.pop_back();
      if (!ok) return false;
    }
    return true;
  }

  // ---- option sections: keyword [value] ; ... ----
  bool parse_option_section(SectionKind kind, const Token& head, RawSection* sec) {
    const std::string_view sname = section_name(kind);
    const std::string what = fmt::format("{} section", sname);
    if (sec->seen) return fail_at(head.line, "duplicate {} (first at {})", what, where(sec->loc));
    sec->seen = true;
    sec->loc = loc(head);
    if (!expect_lbrace(sname)) return false;
    for (;;) {
      bool ok = false;
      if (at_section_end(what, head.line, &ok)) return ok;
      const Token& kw = next();
      if (kw.kind != TokenKind::Word) return fail_at(kw.line, "unexpected {} in {}", describe(kw), what);
      if (kw.text == "skip") {
        if (!parse_skip(kw)) return false;
        continue;
      }
      const KeywordSpec* spec = find_keyword(kind, kw.text);
      if (spec == nullptr) {
        if (kw.text == "include") return fail_at(kw.line, "include is only allowed at top level, not in {}", what);
        std::vector<SectionKind> elsewhere = sections_with_keyword(kw.text);
        if (!elsewhere.empty())
          return fail_at(kw.line, "keyword '{}' is not allowed in {} (it belongs in the {} section)", kw.text, what,
                         section_name(elsewhere.front()));
        return fail_at(kw.line, "unknown keyword '{}' in {}", kw.text, what);
      }
      std::vector<std::string> values;
      std::string shown = kw.text;
      if (spec->kind == ValueKind::Flag) {
        if (peek().kind == TokenKind::Word && (peek().text == "yes" || peek().text == "no")) values.push_back(next().text);
      } else if (peek().is_value()) {
        values.push_back(next().text);
      }
      for (const std::string& v : values) shown += " " + v;
      if (!expect_semicolon(shown)) return false;
      std::string value, why;
      if (!validate_value(*spec, values, &value, &why)) return fail_at(kw.line, "{}", why);
      for (const RawOption& o : sec->options)
        if (o.key == kw.text) return fail_at(kw.line, "duplicate keyword '{}' in {} (first at {})", kw.text, what, where(o.loc));
      sec->options.push_back({kw.text, value, loc(kw)});
    }
  }

  // Returns the option section kind named by `word`, if it is one.
  static std::optional<SectionKind> option_section(std::string_view word) {
    for (SectionKind s : kOptionSections)
      if (section_name(s) == word) return s;
    return std::nullopt;
  }

  bool parse_common(const Token& head) {
    if (!expect_lbrace("common")) return false;
    for (;;) {
      bool ok = false;
      if (at_section_end("common section", head.line, &ok)) return ok;
      const Token& t = next();
      if (t.kind != TokenKind::Word) return fail_at(t.line, "unexpected {} in common section", describe(t));
      if (t.text == "skip") {
        if (!parse_skip(t)) return false;
        continue;
      }
      std::optional<SectionKind> s = option_section(t.text);
      if (!s)
        return fail_at(t.line, "unknown keyword '{}' in common section (expected net, disk, options, handlers or startup)",
                       t.text);
      if (!parse_option_section(*s, t, &st_->common[section_index(*s)])) return false;
    }
  }

  // ---- resource ----
  static bool valid_resource_name(std::string_view n) {
    if (n.empty() || n.size() > kResourceNameBytesMax) return false;
    for (char c : n) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                c == '.' || c == '+';
      if (!ok) return false;
    }
    return n != "." && n != "..";
  }

  bool parse_resource(const Token& head) {
    const Token& name = next();
    if (!name.is_value()) return fail_at(name.line, "expected a resource name after 'resource', found {}", describe(name));
    if (!valid_resource_name(name.text))
      return fail_at(name.line,
                     "invalid resource name '{}' (use 1 to 64 letters, digits, '_', '-', '.' or '+')", name.text);
    for (const RawResource& r : st_->resources)
      if (r.name == name.text)
        return fail_at(name.line, "duplicate resource '{}' (first at {})", name.text, where(r.loc));
    st_->resources.emplace_back();
    RawResource& res = st_->resources.back();
    res.name = name.text;
    res.loc = loc(head);
    const std::string what = fmt::format("resource {}", res.name);
    if (!expect_lbrace(what)) return false;
    for (;;) {
      bool ok = false;
      if (at_section_end(what, head.line, &ok)) return ok;
      const Token& t = next();
      if (t.kind != TokenKind::Word) return fail_at(t.line, "unexpected {} in {}", describe(t), what);
      const std::string& w = t.text;
      if (w == "skip") {
        if (!parse_skip(t)) return false;
      } else if (w == "on") {
        if (!parse_on(t, &res)) return false;
      } else if (w == "volume") {
        if (!parse_volume_block(t, res.name, &res.volume)) return false;
      } else if (w == "disk" && peek().kind != TokenKind::LBrace) {
        if (!parse_volume_key(t, res.name, &res.volume)) return false;
      } else if (std::optional<SectionKind> s = option_section(w)) {
        if (!parse_option_section(*s, t, &res.sections[section_index(*s)])) return false;
      } else if (w == "device" || w == "meta-disk") {
        if (!parse_volume_key(t, res.name, &res.volume)) return false;
      } else if (w == "connection" || w == "connection-mesh" || w == "floating" || w == "stacked-on-top-of" ||
                 w == "path") {
        return fail_at(t.line, "{}: '{}' sections are not supported (a resource has exactly two 'on' hosts)", what, w);
      } else if (w == "include") {
        return fail_at(t.line, "include is only allowed at top level, not in {}", what);
      } else {
        return fail_at(t.line, "unknown keyword '{}' in {}", w, what);
      }
    }
  }

  bool parse_on(const Token& head, RawResource* res) {
    const Token& name = next();
    if (!name.is_value()) return fail_at(name.line, "expected a host name after 'on', found {}", describe(name));
    if (name.text.empty() || name.text.size() > kHostNameBytesMax)
      return fail_at(name.line, "invalid host name '{}'", name.text);
    if (peek().is_value())
      return fail_at(peek().line, "resource {}: 'on' with several host names is not supported (found '{}' after '{}')",
                     res->name, peek().text, name.text);
    for (const RawHost& h : res->hosts)
      if (h.name == name.text)
        return fail_at(name.line, "resource {}: duplicate host '{}' (first at {})", res->name, name.text, where(h.loc));
    res->hosts.emplace_back();
    RawHost& host = res->hosts.back();
    host.name = name.text;
    host.loc = loc(head);
    const std::string what = fmt::format("'on {}' section", host.name);
    if (!expect_lbrace(fmt::format("on {}", host.name))) return false;
    for (;;) {
      bool ok = false;
      if (at_section_end(what, head.line, &ok)) return ok;
      const Token& t = next();
      if (t.kind != TokenKind::Word) return fail_at(t.line, "unexpected {} in {}", describe(t), what);
      const std::string& w = t.text;
      if (w == "skip") {
        if (!parse_skip(t)) return false;
      } else if (w == "node-id") {
        if (!parse_node_id(t, res->name, &host)) return false;
      } else if (w == "address") {
        if (!parse_address(t, res->name, &host)) return false;
      } else if (w == "volume") {
        if (!parse_volume_block(t, res->name, &host.volume)) return false;
      } else if (w == "device" || w == "disk" || w == "meta-disk") {
        if (!parse_volume_key(t, res->name, &host.volume)) return false;
      } else {
        return fail_at(t.line, "unknown keyword '{}' in {}", w, what);
      }
    }
  }

  bool parse_node_id(const Token& kw, const std::string& res_name, RawHost* host) {
    if (host->node_id_loc)
      return fail_at(kw.line, "duplicate keyword 'node-id' in 'on {}' section (first at {})", host->name,
                     where(*host->node_id_loc));
    const Token& v = next();
    long long id = 0;
    if (!v.is_value() || !parse_integer(v.text, 0, kNodeIdMax, &id))
      return fail_at(v.line, "invalid node-id {} (expected an integer from 0 to {})", describe(v), kNodeIdMax);
    if (!expect_semicolon("node-id " + v.text)) return false;
    host->node_id = static_cast<int>(id);
    host->node_id_loc = loc(kw);
    return true;
  }

  static bool parse_ipv4(std::string_view s) {
    int parts = 0;
    size_t i = 0;
    while (parts < 4) {
      size_t start = i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
      long long octet = 0;
      if (!parse_integer(s.substr(start, i - start), 0, 255, &octet)) return false;
      if (i - start > 1 && s[start] == '0') return false;  // "010" would be octal to inet_aton
      ++parts;
      if (parts < 4) {
        if (i >= s.size() || s[i] != '.') return false;
        ++i;
      }
    }
    return i == s.size();
  }

  bool parse_address(const Token& kw, const std::string& res_name, RawHost* host) {
    if (host->address_loc)
      return fail_at(kw.line, "duplicate keyword 'address' in 'on {}' section (first at {})", host->name,
                     where(*host->address_loc));
    const Token* v = &next();
    if (v->kind == TokenKind::Word && (v->text == "ipv4" || v->text == "ipv6" || v->text == "ssocks" ||
                                       v->text == "sdp" || v->text == "sci")) {
      if (v->text != "ipv4")
        return fail_at(v->line, "address family '{}' is not supported (only ipv4)", v->text);
      v = &next();
    }
    if (!v->is_value()) return fail_at(v->line, "expected IPv4:PORT after 'address', found {}", describe(*v));
    const std::string& text = v->text;
    size_t colon = text.rfind(':');
    if (colon == std::string::npos)
      return fail_at(v->line, "invalid address '{}' (expected IPv4:PORT, e.g. 10.0.0.1:7789)", text);
    std::string ip = text.substr(0, colon);
    if (!parse_ipv4(ip)) return fail_at(v->line, "invalid IPv4 address '{}' in '{}'", ip, text);
    long long port = 0;
    if (!parse_integer(std::string_view(text).substr(colon + 1), 1, 65535, &port))
      return fail_at(v->line, "invalid port '{}' in '{}' (expected 1..65535)", text.substr(colon + 1), text);
    if (!expect_semicolon("address " + text)) return false;
    host->address = ip;
    host->port = static_cast<uint16_t>(port);
    host->address_loc = loc(kw);
    return true;
  }

  bool parse_volume_block(const Token& kw, const std::string& res_name, RawVolume* vol) {
    const Token& num = next();
    long long n = 0;
    if (!num.is_value() || !parse_integer(num.text, 0, 65535, &n))
      return fail_at(num.line, "invalid volume number {} (expected an integer)", describe(num));
    if (n != 0)
      return fail_at(num.line, "resource {}: only volume 0 is supported, found volume {}", res_name, n);
    if (vol->explicit_volume_seen) return fail_at(kw.line, "resource {}: duplicate volume 0", res_name);
    vol->explicit_volume_seen = true;
    const std::string what = "volume 0 section";
    if (!expect_lbrace("volume 0")) return false;
    for (;;) {
      bool ok = false;
      if (at_section_end(what, kw.line, &ok)) return ok;
      const Token& t = next();
      if (t.kind != TokenKind::Word) return fail_at(t.line, "unexpected {} in {}", describe(t), what);
      if (t.text == "skip") {
        if (!parse_skip(t)) return false;
      } else if (t.text == "device" || t.text == "disk" || t.text == "meta-disk") {
        if (!parse_volume_key(t, res_name, vol)) return false;
      } else {
        return fail_at(t.line, "unknown keyword '{}' in {}", t.text, what);
      }
    }
  }

  // Derives the minor from /dev/drbdN or /dev/tandemN; -1 when the name carries none.
  static int minor_from_path(std::string_view path) {
    for (std::string_view prefix : {std::string_view("/dev/drbd"), std::string_view("/dev/tandem")}) {
      if (!path.starts_with(prefix)) continue;
      long long n = 0;
      if (parse_integer(path.substr(prefix.size()), 0, kMinorMax, &n)) return static_cast<int>(n);
    }
    return -1;
  }

  // device, disk or meta-disk (the keyword token already consumed).
  bool parse_volume_key(const Token& kw, const std::string& res_name, RawVolume* vol) {
    const std::string& k = kw.text;
    std::optional<Loc>* seen = k == "device" ? &vol->device_loc : k == "disk" ? &vol->disk_loc : &vol->meta_disk_loc;
    if (*seen) return fail_at(kw.line, "resource {}: duplicate keyword '{}' (first at {})", res_name, k, where(**seen));
    if (k == "disk" && peek().kind == TokenKind::LBrace)
      return fail_at(kw.line, "resource {}: per-host or per-volume disk option sections are not supported; "
                     "put disk options in the resource's disk section", res_name);
    if (k == "device") {
      std::string path;
      int minor = -1;
      if (peek().is_value() && peek().text != "minor") path = next().text;
      if (peek().kind == TokenKind::Word && peek().text == "minor") {
        next();
        const Token& m = next();
        long long n = 0;
        if (!m.is_value() || !parse_integer(m.text, 0, kMinorMax, &n))
          return fail_at(m.line, "invalid minor {} (expected an integer from 0 to {})", describe(m), kMinorMax);
        minor = static_cast<int>(n);
      }
      if (path.empty() && minor < 0)
        return fail_at(peek().line, "expected a device path or 'minor N' after 'device', found {}", describe(peek()));
      if (!expect_semicolon(path.empty() ? fmt::format("device minor {}", minor)
                                         : minor < 0 ? "device " + path : fmt::format("device {} minor {}", path, minor)))
        return false;
      if (!path.empty() && path[0] != '/')
        return fail_at(kw.line, "device path '{}' must be absolute", path);
      if (minor < 0) minor = minor_from_path(path);
      if (minor < 0)
        return fail_at(kw.line, "device '{}' does not give a minor number; write 'device {} minor N;'", path, path);
      vol->device = path;
      vol->minor = minor;
    } else {
      const Token& v = next();
      if (!v.is_value() || v.text.empty())
        return fail_at(v.line, "expected a path after '{}', found {}", k, describe(v));
      if (k == "disk" && v.text == "none")
        return fail_at(v.line, "resource {}: diskless hosts ('disk none') are not supported", res_name);
      if (k == "meta-disk" && peek().is_value())
        return fail_at(peek().line, "resource {}: indexed meta-disk ('{} {}') is not supported; use internal or a "
                       "whole device", res_name, v.text, peek().text);
      if (!expect_semicolon(k + " " + v.text)) return false;
      if (v.text != "internal" || k == "disk") {
        if (v.text[0] != '/') return fail_at(v.line, "{} path '{}' must be absolute", k, v.text);
      }
      (k == "disk" ? vol->disk : vol->meta_disk) = v.text;
    }
    *seen = loc(kw);
    return true;
  }
};

bool parse_text(std::string_view text, const std::string& file, ParseState* st, std::string* error) {
  std::vector<Token> tokens;
  std::string why;
  if (!tokenize(text, &tokens, &why)) {
    *error = fmt::format("{}:{}", file, why);
    return false;
  }
  FileParser p(std::move(tokens), file, st);
  return p.run(error);
}

// ---- phase 2 ----

OptionList inherit(const RawSection& common, const RawSection& own) {
  OptionList out;
  for (const RawOption& o : common.options) out.emplace_back(o.key, o.value);
  for (const RawOption& o : own.options) {
    bool replaced = false;
    for (auto& [k, v] : out) {
      if (k == o.key) {
        v = o.value;
        replaced = true;
      }
    }
    if (!replaced) out.emplace_back(o.key, o.value);
  }
  return out;
}

bool finish_resource(const ParseState& st, const RawResource& raw, ResourceConfig* out, std::string* error) {
  auto fail = [&](const Loc& l, const std::string& msg) {
    *error = fmt::format("{}:{}: resource {}: {}", l.file, l.line, raw.name, msg);
    return false;
  };
  out->name = raw.name;
  out->file = raw.loc.file;
  out->line = raw.loc.line;
  auto sec = [&](SectionKind s) {
    size_t i = section_index(s);
    return inherit(st.common[i], raw.sections[i]);
  };
  out->net.options = sec(SectionKind::Net);
  out->disk.options = sec(SectionKind::Disk);
  out->options.options = sec(SectionKind::Options);
  out->handlers.options = sec(SectionKind::Handlers);
  out->startup.options = sec(SectionKind::Startup);
  out->net.interpret();
  if (!out->net.shared_secret.empty() && out->net.cram_hmac_alg.empty())
    return fail(raw.loc, "shared-secret is set but cram-hmac-alg is not (both are needed for peer authentication)");
  if (!out->net.cram_hmac_alg.empty() && out->net.shared_secret.empty())
    return fail(raw.loc, "cram-hmac-alg is set but shared-secret is not (both are needed for peer authentication)");

  if (raw.hosts.size() != 2)
    return fail(raw.loc, fmt::format("has {} host section(s) ('on HOST {{...}}'); exactly 2 are needed", raw.hosts.size()));
  size_t with_id = 0;
  for (const RawHost& h : raw.hosts) with_id += h.node_id_loc ? 1 : 0;
  if (with_id != 0 && with_id != raw.hosts.size()) {
    for (const RawHost& h : raw.hosts)
      if (!h.node_id_loc) return fail(h.loc, fmt::format("host {} has no node-id (give node-id to all hosts or to none)", h.name));
  }
  for (size_t i = 0; i < raw.hosts.size(); ++i) {
    const RawHost& h = raw.hosts[i];
    HostConfig hc;
    hc.name = h.name;
    hc.node_id = with_id == 0 ? static_cast<int>(i) : h.node_id;
    if (!h.address_loc) return fail(h.loc, fmt::format("host {} has no address", h.name));
    hc.address = h.address;
    hc.port = h.port;
    const RawVolume& hv = h.volume;
    const RawVolume& rv = raw.volume;
    if (hv.device_loc) {
      hc.volume.device = hv.device;
      hc.volume.minor = hv.minor;
    } else if (rv.device_loc) {
      hc.volume.device = rv.device;
      hc.volume.minor = rv.minor;
    } else {
      return fail(h.loc, fmt::format("host {} has no device (set it in 'on {}' or in the resource's volume 0)", h.name, h.name));
    }
    if (hv.disk_loc) hc.volume.disk = hv.disk;
    else if (rv.disk_loc) hc.volume.disk = rv.disk;
    else return fail(h.loc, fmt::format("host {} has no disk (set it in 'on {}' or in the resource's volume 0)", h.name, h.name));
    if (hv.meta_disk_loc) hc.volume.meta_disk = hv.meta_disk;
    else if (rv.meta_disk_loc) hc.volume.meta_disk = rv.meta_disk;
    for (const HostConfig& other : out->hosts) {
      if (other.node_id == hc.node_id)
        return fail(*h.node_id_loc, fmt::format("hosts {} and {} both have node-id {}", other.name, hc.name, hc.node_id));
      if (other.address == hc.address && other.port == hc.port)
        return fail(*h.address_loc, fmt::format("hosts {} and {} both use address {}:{}", other.name, hc.name, hc.address, hc.port));
    }
    out->hosts.push_back(std::move(hc));
  }
  return true;
}

bool finish(const ParseState& st, Config* out, std::string* error) {
  *out = Config{};
  for (const RawOption& o : st.global.options) out->global.options.emplace_back(o.key, o.value);
  for (const RawResource& raw : st.resources) {
    ResourceConfig rc;
    if (!finish_resource(st, raw, &rc, error)) return false;
    out->resources.push_back(std::move(rc));
  }
  return true;
}

bool parse_root(std::string_view text, const std::string& name, ConfigFiles& files, Config* out, std::string* error) {
  ParseState st;
  st.files = &files;
  st.include_stack.push_back(files.canonical(name));
  if (!parse_text(text, name, &st, error)) return false;
  return finish(st, out, error);
}

}  // namespace

bool parse_string(std::string_view text, const std::string& name_for_messages, ConfigFiles& files, Config* out,
                  std::string* error) {
  return parse_root(text, name_for_messages, files, out, error);
}

bool parse_string(std::string_view text, const std::string& name_for_messages, Config* out, std::string* error) {
  DiskConfigFiles files;
  return parse_root(text, name_for_messages, files, out, error);
}

bool parse_file(const std::string& path, ConfigFiles& files, Config* out, std::string* error) {
  std::string text, why;
  if (!files.read(path, &text, &why)) {
    *error = fmt::format("{}: cannot read configuration: {}", path, why);
    return false;
  }
  return parse_root(text, path, files, out, error);
}

bool parse_file(const std::string& path, Config* out, std::string* error) {
  DiskConfigFiles files;
  return parse_file(path, files, out, error);
}

}  // namespace tandem::config
