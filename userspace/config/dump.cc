// Normalised text of a resource: DRBD syntax, 4-space indent, one keyword per line, values quoted only
// when they need it. The output is re-parseable (dump_test.cc checks the round trip) and is what
// `tandemadm dump` prints, so its shape is part of the user interface.
#include <fmt/format.h>

#include "config/config.h"

namespace tandem::config {
namespace {

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '{' || c == '}' || c == ';' || c == '"' || c == '#' ||
        c == '\\' || c == '\'')
      return true;
  }
  return false;
}

std::string quote(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// Secrets and commands are always quoted: that is how users write them and what drbdadm expects.
std::string value_text(std::string_view key, std::string_view v, bool always_quote) {
  if (always_quote || key == "shared-secret" || needs_quotes(v)) return quote(v);
  return std::string(v);
}

void section(std::string* out, std::string_view name, const OptionList& opts, bool quote_values) {
  if (opts.empty()) return;
  *out += fmt::format("    {} {{\n", name);
  for (const auto& [k, v] : opts) *out += fmt::format("        {} {};\n", k, value_text(k, v, quote_values));
  *out += "    }\n";
}

}  // namespace

std::string dump(const ResourceConfig& res) {
  std::string out = fmt::format("resource {} {{\n", res.name);
  section(&out, "options", res.options.options, false);
  section(&out, "net", res.net.options, false);
  section(&out, "disk", res.disk.options, false);
  section(&out, "handlers", res.handlers.options, true);
  section(&out, "startup", res.startup.options, false);
  for (const HostConfig& h : res.hosts) {
    const VolumeConfig& v = h.volume;
    out += fmt::format("    on {} {{\n", value_text("", h.name, false));
    out += fmt::format("        node-id {};\n", h.node_id);
    out += fmt::format("        address ipv4 {}:{};\n", h.address, h.port);
    out += fmt::format("        volume {} {{\n", v.number);
    if (v.device.empty()) out += fmt::format("            device minor {};\n", v.minor);
    else out += fmt::format("            device {} minor {};\n", value_text("", v.device, false), v.minor);
    out += fmt::format("            disk {};\n", value_text("", v.disk, false));
    out += fmt::format("            meta-disk {};\n", value_text("", v.meta_disk, false));
    out += "        }\n";
    out += "    }\n";
  }
  out += "}\n";
  return out;
}

std::string dump_global(const Section& global) {
  if (global.options.empty()) return "";
  std::string out = "global {\n";
  for (const auto& [k, v] : global.options) out += fmt::format("    {} {};\n", k, value_text(k, v, false));
  out += "}\n";
  return out;
}

}  // namespace tandem::config
