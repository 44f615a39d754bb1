// tandemadm [global options] COMMAND [RES] [command options]
//
// Parses the global options, picks the command from the table in commands.h and runs it. All failures
// end in "tandemadm: message" on stderr and an exit status from cli_common.h.
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "cli_common.h"
#include "commands.h"

#ifndef TANDEM_VERSION
#define TANDEM_VERSION "0.1.0"
#endif

namespace tandem::adm {
namespace {
namespace po = boost::program_options;

#define TANDEMADM_ADDRESS_OF(id) &kCommand_##id,
const Command* const kAllCommands[] = {TANDEMADM_COMMANDS(TANDEMADM_ADDRESS_OF)};
#undef TANDEMADM_ADDRESS_OF

po::options_description global_options(GlobalOptions* g) {
  po::options_description d("Global options");
  d.add_options()
      ("config,c", po::value(&g->config_path)->value_name("FILE")->default_value(kDefaultConfigPath),
       "configuration file")
      ("host", po::value(&g->host)->value_name("NAME"),
       "this node's 'on' section (default: uname -n, then the host whose address is local)")
      ("run-dir", po::value(&g->run_dir)->value_name("DIR"),
       "runtime directory (default: $TANDEM_RUN_DIR, else /run/tandem)")
      ("dry-run,d", po::bool_switch(&g->dry_run), "print what would be done, change nothing")
      ("help,h", "show this help (with a command: that command's usage)")
      ("version", "print the version");
  return d;
}

std::string usage_text(const po::options_description& opts) {
  std::ostringstream s;
  s << "usage: tandemadm [global options] COMMAND [RES] [command options]\n\nCommands:\n";
  for (const Command* c : kAllCommands) s << fmt::format("  {:<28} {}\n", fmt::format("{} {}", c->name, c->usage), c->summary);
  s << "\n" << opts << "\nExit status: 0 success, 1 usage error, 10 configuration error, 20 operation failed.\n";
  return s.str();
}

int run(int argc, char** argv) {
  GlobalOptions g;
  po::options_description opts = global_options(&g);
  po::positional_options_description pos;
  pos.add("operands", -1);
  po::options_description hidden;
  hidden.add_options()("operands", po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(opts).add(hidden);
  po::variables_map vm;
  std::vector<std::string> tokens;  // command, resource and command options, in order
  try {
    po::parsed_options parsed =
        po::command_line_parser(argc, argv).options(all).positional(pos).allow_unregistered().run();
    po::store(parsed, vm);
    po::notify(vm);
    tokens = po::collect_unrecognized(parsed.options, po::include_positional);
  } catch (const po::error& e) {
    cli_fail(kExitUsage, "{} (see tandemadm --help)", e.what());
  }
  if (vm.count("version")) {
    fmt::print("tandemadm {}\n", TANDEM_VERSION);
    return kExitOk;
  }
  if (g.run_dir.empty()) {
    const char* env = std::getenv("TANDEM_RUN_DIR");
    g.run_dir = env != nullptr && env[0] != '\0' ? env : kDefaultRunDir;
  }
  if (tokens.empty()) {
    if (vm.count("help")) {
      std::cout << usage_text(opts);
      return kExitOk;
    }
    std::cerr << usage_text(opts);
    cli_fail(kExitUsage, "no command given");
  }
  if (tokens[0].starts_with("-")) cli_fail(kExitUsage, "unknown option '{}' (see tandemadm --help)", tokens[0]);
  const Command* cmd = find_command(tokens[0]);
  if (cmd == nullptr) cli_fail(kExitUsage, "unknown command '{}' (see tandemadm --help)", tokens[0]);
  if (vm.count("help")) {
    fmt::print("usage: tandemadm [global options] {} {}\n  {}\n", cmd->name, cmd->usage, cmd->summary);
    return kExitOk;
  }
  CommandArgs args{g, "", {}};
  size_t next = 1;
  if (cmd->resource != ResourceArg::None && next < tokens.size() && !tokens[next].starts_with("-")) {
    args.resource = tokens[next++];
  }
  if (cmd->resource == ResourceArg::Required && args.resource.empty())
    cli_fail(kExitUsage, "{}: missing resource name (usage: tandemadm {} {})", cmd->name, cmd->name, cmd->usage);
  args.rest.assign(tokens.begin() + static_cast<long>(next), tokens.end());
  return cmd->run(args);
}

}  // namespace

std::span<const Command* const> all_commands() { return kAllCommands; }

const Command* find_command(std::string_view name) {
  for (const Command* c : kAllCommands)
    if (name == c->name) return c;
  return nullptr;
}

}  // namespace tandem::adm

int main(int argc, char** argv) {
  try {
    return tandem::adm::run(argc, argv);
  } catch (const tandem::adm::CliError& e) {
    tandem::adm::print_error(e.message);
    return e.code;
  } catch (const std::exception& e) {
    tandem::adm::print_error(fmt::format("unexpected error: {}", e.what()));
    return tandem::adm::kExitFailed;
  }
}
