#include "cli_common.h"

#include <sys/utsname.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "io/local_addresses.h"

namespace tandem::adm {
namespace po = boost::program_options;

void cli_fail(int code, std::string message) { throw CliError{code, std::move(message)}; }

void print_error(std::string_view message) {
  std::fprintf(stderr, "tandemadm: %.*s\n", static_cast<int>(message.size()), message.data());
}

config::Config load_config(const GlobalOptions& global) {
  config::Config cfg;
  std::string error;
  if (!config::parse_file(global.config_path, &cfg, &error)) cli_fail(kExitConfig, std::move(error));
  return cfg;
}

std::string absolute_config_path(const GlobalOptions& global) {
  char buf[PATH_MAX];
  if (::realpath(global.config_path.c_str(), buf) == nullptr)
    cli_fail(kExitConfig, "cannot resolve configuration path {}: {}", global.config_path, std::strerror(errno));
  return buf;
}

const config::ResourceConfig& find_resource(const config::Config& cfg, const std::string& name) {
  if (const config::ResourceConfig* r = cfg.find(name)) return *r;
  std::string known;
  for (const config::ResourceConfig& r : cfg.resources) known += (known.empty() ? "" : ", ") + r.name;
  cli_fail(kExitUsage, "resource '{}' is not defined in the configuration (defined: {})", name,
           known.empty() ? "none" : known);
}

LocalAndPeer resolve_hosts(const GlobalOptions& global, const config::ResourceConfig& res) {
  std::string uname_n;
  struct utsname u {};
  if (::uname(&u) == 0) uname_n = u.nodename;
  std::vector<std::string> addresses;
  std::string error;
  // Only consult interfaces when the cheaper answers failed; a failure here is folded into the
  // "no host matches" message rather than reported on its own.
  if (global.host.empty() && res.find_host(uname_n) == nullptr) {
    if (!list_local_ipv4_addresses(&addresses, &error)) addresses.clear();
  }
  const config::HostConfig* local = config::select_local_host(res, global.host, uname_n, addresses, &error);
  if (local == nullptr) cli_fail(kExitConfig, std::move(error));
  return {local, config::peer_of(res, *local)};
}

void parse_command_options(const Command& cmd, const CommandArgs& args, const po::options_description& options,
                           const po::positional_options_description* positional, po::variables_map* vm) {
  try {
    po::command_line_parser parser(args.rest);
    parser.options(options);
    po::positional_options_description none;
    parser.positional(positional != nullptr ? *positional : none);
    po::store(parser.run(), *vm);
    po::notify(*vm);
  } catch (const po::too_many_positional_options_error&) {
    std::string extra;
    for (const std::string& a : args.rest) extra += (extra.empty() ? "" : " ") + a;
    cli_fail(kExitUsage, "{}: too many arguments '{}' (usage: tandemadm {} {})", cmd.name, extra, cmd.name, cmd.usage);
  } catch (const po::error& e) {
    cli_fail(kExitUsage, "{}: {} (usage: tandemadm {} {})", cmd.name, e.what(), cmd.name, cmd.usage);
  }
}

}  // namespace tandem::adm
