// Resource configuration in DRBD resource-file syntax (see docs/configuration.md and drbd.conf-9.0(5)).
//
// These are the in-memory, already validated results of parsing: every field holds a value that passed
// validation, and every resource has exactly two hosts with distinct node ids, each with device, disk and
// address. Code that consumes a Config can rely on that and need not re-check.
//
// Pure code: parsing never reads the clock or the environment. parse_file() reads files only through a
// ConfigFiles (config_files.h), so tests can feed an in-memory file tree.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tandem::config {

class ConfigFiles;

// One replicated volume. Only volume 0 exists today; the number is kept so more volumes can come later.
struct VolumeConfig {
  int number = 0;
  std::string device;               // device path; may be empty when written as `device minor N;`
  int minor = -1;                   // explicit `minor N`, or taken from /dev/drbdN or /dev/tandemN
  std::string disk;                 // backing block device or file
  std::string meta_disk = "internal";  // "internal" or a path to an external metadata device
  bool operator==(const VolumeConfig&) const = default;
};

struct HostConfig {
  std::string name;   // as written after `on`
  int node_id = -1;   // 0..31; assigned 0,1 in file order when no host gives one (DRBD 8.4 style)
  std::string address;  // dotted IPv4
  uint16_t port = 0;    // 1..65535
  VolumeConfig volume;
  bool operator==(const HostConfig&) const = default;
};

// Keyword/value pairs in the order written, after common→resource inheritance. Values are normalised:
// flags are "yes"/"no", everything else is the token as written (quotes removed).
using OptionList = std::vector<std::pair<std::string, std::string>>;

struct Section {
  OptionList options;
  // Returns the value for `key`, or nullptr.
  const std::string* get(std::string_view key) const;
  bool operator==(const Section&) const = default;
};

struct NetConfig {
  // Interpreted now; derived from `options` (which also holds these keywords when they were written).
  char protocol = 'C';
  std::string cram_hmac_alg;  // "" = no peer authentication
  std::string shared_secret;
  int ping_int_s = 10;
  int ping_timeout_ds = 5;
  int timeout_ds = 60;
  int connect_int_s = 10;
  OptionList options;  // every net keyword as written (normalised), including the interpreted ones
  const std::string* get(std::string_view key) const;
  // Sets the interpreted fields from `options` (defaults for those not written). Values must be validated.
  void interpret();
  bool operator==(const NetConfig&) const = default;
};

struct ResourceConfig {
  std::string name;
  NetConfig net;
  Section disk, options, handlers, startup;
  std::vector<HostConfig> hosts;  // exactly two, in file order
  std::string file;  // where `resource NAME` was written, for messages; not part of the settings
  int line = 0;

  const HostConfig* find_host(std::string_view host_name) const;
  // Equality of settings: ignores file/line so a dump round-trip compares equal.
  bool same_settings(const ResourceConfig& other) const;
};

struct Config {
  Section global;
  std::vector<ResourceConfig> resources;  // in file order (includes expanded in place)
  const ResourceConfig* find(std::string_view resource_name) const;
};

// Error messages have the form "FILE:LINE: message" (FILE as given / as resolved for includes).

// Parses `path` (following `include` statements, globs relative to the including file's directory).
// On error returns false, fills *error and leaves *out in an unspecified state.
bool parse_file(const std::string& path, Config* out, std::string* error);
bool parse_file(const std::string& path, ConfigFiles& files, Config* out, std::string* error);
// Parses text; `name_for_messages` is used as FILE in messages and as the directory base for includes.
bool parse_string(std::string_view text, const std::string& name_for_messages, Config* out, std::string* error);
bool parse_string(std::string_view text, const std::string& name_for_messages, ConfigFiles& files, Config* out,
                  std::string* error);

// Picks this node's `on` section. Order: `explicit_host` if non-empty (must match, nothing else is tried);
// else the host named `uname_n`; else the single host whose address is in `local_addresses`.
// Returns nullptr and fills *error (listing what was tried) when none or several match.
const HostConfig* select_local_host(const ResourceConfig& res, const std::string& explicit_host,
                                    const std::string& uname_n, const std::vector<std::string>& local_addresses,
                                    std::string* error);
// The other host of a two-host resource. REQUIRES: `local` is one of res.hosts.
const HostConfig* peer_of(const ResourceConfig& res, const HostConfig& local);

// Normalised DRBD-syntax text of one resource; parse_string(dump(r)) gives a resource with same_settings(r).
std::string dump(const ResourceConfig& res);
// The global section (empty string when it has no options).
std::string dump_global(const Section& global);

}  // namespace tandem::config
