// dump [RES]: parse and validate the configuration and print it normalised (common settings folded into
// each resource). The output is valid input, so it doubles as a "what tandem understood" check.
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "cli_common.h"
#include "commands.h"

namespace tandem::adm {
namespace {

int run_dump(const CommandArgs& args) {
  boost::program_options::options_description none;
  boost::program_options::variables_map vm;
  parse_command_options(kCommand_dump, args, none, nullptr, &vm);
  config::Config cfg = load_config(args.global);
  if (!args.resource.empty()) {
    const config::ResourceConfig& r = find_resource(cfg, args.resource);
    fmt::print("# resource {} defined at {}:{}\n{}", r.name, r.file, r.line, config::dump(r));
    return kExitOk;
  }
  std::string global = config::dump_global(cfg.global);
  bool first = true;
  if (!global.empty()) {
    fmt::print("{}", global);
    first = false;
  }
  for (const config::ResourceConfig& r : cfg.resources) {
    fmt::print("{}# resource {} defined at {}:{}\n{}", first ? "" : "\n", r.name, r.file, r.line, config::dump(r));
    first = false;
  }
  return kExitOk;
}

}  // namespace

const Command kCommand_dump = {"dump", ResourceArg::Optional, "[RES]",
                               "print the parsed configuration (all resources when RES is omitted)", run_dump};

}  // namespace tandem::adm
