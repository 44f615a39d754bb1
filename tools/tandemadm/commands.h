// The tandemadm command table. To add a command:
//   1. write tools/tandemadm/cmd_<name>.cc defining `const Command kCommand_<name> = {...};`
//      (identifier with '_' where the command has '-', e.g. kCommand_sh_local_host for "sh-local-host");
//   2. add X(<name>) to TANDEMADM_COMMANDS below.
// main.cc builds the dispatch list from this one macro, so nothing else needs to change.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::adm {

// Options given before (or anywhere around) the command, parsed by main.cc.
struct GlobalOptions {
  std::string config_path;  // -c/--config, default kDefaultConfigPath
  std::string host;         // --host: this node's `on` name; empty = uname -n, then local addresses
  std::string run_dir;      // --run-dir, else $TANDEM_RUN_DIR, else /run/tandem
  bool dry_run = false;     // -d/--dry-run: print what would be done, change nothing
};

enum class ResourceArg { None, Optional, Required };

struct CommandArgs {
  const GlobalOptions& global;
  std::string resource;           // empty when not given (only possible for None/Optional)
  std::vector<std::string> rest;  // everything after the resource: command options and operands
};

struct Command {
  const char* name;        // as typed, e.g. "sh-local-host"
  ResourceArg resource;
  const char* usage;       // arguments after the name, e.g. "[RES]" or "RES [--force]"
  const char* summary;     // one line for the help text
  // Returns the exit status (see cli_common.h). May throw CliError (cli_common.h) for failures.
  int (*run)(const CommandArgs& args);
};

#define TANDEMADM_COMMANDS(X) \
  X(dump)                     \
  X(sh_local_host)            \
  X(create_md)                \
  X(dump_md)                  \
  X(up)                       \
  X(adjust)                   \
  X(disk_options)             \
  X(net_options)              \
  X(resource_options)         \
  X(down)                     \
  X(primary)                  \
  X(secondary)                \
  X(connect)                  \
  X(disconnect)               \
  X(status)                   \
  X(role)                     \
  X(cstate)                   \
  X(dstate)                   \
  X(show_gi)                  \
  X(wait_connect)             \
  X(wait_sync)                \
  X(invalidate)               \
  X(invalidate_remote)        \
  X(outdate)                  \
  X(verify)                   \
  X(pause_sync)               \
  X(suspend_io)               \
  X(resume_io)                \
  X(resume_sync)              \
  X(new_current_uuid)

#define TANDEMADM_DECLARE_COMMAND(id) extern const Command kCommand_##id;
TANDEMADM_COMMANDS(TANDEMADM_DECLARE_COMMAND)
#undef TANDEMADM_DECLARE_COMMAND

// All commands in table order.
std::span<const Command* const> all_commands();
// nullptr when no command has that name.
const Command* find_command(std::string_view name);

}  // namespace tandem::adm
