// status [RES] [--json] [--verbose] [--statistics]: show the state of one or all resources (DRBD's `drbdadm
// status`). Sends `status` (text; with --verbose / --statistics passed on, for drbdadm's long form) or
// `status-json` to each resource's daemon and prints the body. A resource without a
// daemon prints "RES: not running" (JSON: {"name":"RES","running":false}); running resources' JSON objects get
// "running":true added. Without RES, --json prints one JSON array of all the configuration's resources.
//
// Exit status: 0 when every resource shown is running; 10 when at least one is not (like drbdadm's "No
// currently configured DRBD found"); the daemon's code or 20 when a daemon could not be asked (this wins).
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "cli_common.h"
#include "commands.h"
#include "control_cli.h"
#include "json_extract.h"

namespace tandem::adm {
namespace {

inline constexpr int kExitNotRunning = kExitConfig;  // 10, as drbdadm status for a resource that is down

struct Outcome {
  std::string output;  // what goes to stdout for this resource (text lines or one JSON value)
  int code = kExitOk;
};

// Adds "running":true to the daemon's status-json object, checking that it is one.
bool mark_running(const std::string& body, std::string* out, std::string* error) {
  JsonValue v;
  if (!parse_json(body, &v, error)) return false;
  if (v.kind != JsonValue::Kind::Object) {
    *error = "not a JSON object";
    return false;
  }
  std::string_view text = body;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  size_t brace = text.find('{');
  if (v.object.contains("running")) {
    *out = std::string(text.substr(brace));
    return true;
  }
  std::string_view rest = text.substr(brace + 1);
  bool empty = v.object.empty();
  *out = fmt::format("{{\"running\":true{}{}", empty ? "" : ",", rest);
  return true;
}

Outcome status_of(const GlobalOptions& global, const std::string& resource, bool json,
                  const std::string& text_request) {
  RunPaths paths = run_paths(global.run_dir, resource);
  ControlResponse response;
  std::string error;
  Outcome o;
  switch (control_request(paths.socket, json ? "status-json" : text_request, kControlTimeoutMs, &response, &error)) {
    case ControlResult::NotRunning:
      o.output = json ? fmt::format("{{\"name\":{},\"running\":false}}", json_quote(resource))
                      : fmt::format("{}: not running", resource);
      o.code = kExitNotRunning;
      return o;
    case ControlResult::Failed: o.code = kExitFailed; break;
    case ControlResult::Ok:
      if (!response.ok) {
        error = response.body;
        while (!error.empty() && error.back() == '\n') error.pop_back();
        o.code = response.code;
      }
      break;
  }
  if (o.code == kExitOk && json) {
    std::string parse_error;
    if (!mark_running(response.body, &o.output, &parse_error)) {
      error = fmt::format("invalid status-json from the daemon: {}", parse_error);
      o.code = kExitFailed;
    }
  } else if (o.code == kExitOk) {
    o.output = response.body;
    while (!o.output.empty() && o.output.back() == '\n') o.output.pop_back();
  }
  if (o.code != kExitOk) {
    print_error(fmt::format("{}: {}", resource, error));
    if (json) o.output = fmt::format("{{\"name\":{},\"error\":{}}}", json_quote(resource), json_quote(error));
  }
  return o;
}

int combine(int a, int b) {
  auto rank = [](int c) { return c == kExitOk ? 0 : c == kExitNotRunning ? 1 : 2; };
  return rank(b) > rank(a) ? b : a;
}

int run_status(const CommandArgs& args) {
  bool json = false, verbose = false, statistics = false;
  boost::program_options::options_description opts;
  opts.add_options()("json", boost::program_options::bool_switch(&json), "print JSON")(
      "verbose", boost::program_options::bool_switch(&verbose), "node ids, volume and minor, suspended states")(
      "statistics", boost::program_options::bool_switch(&statistics), "I/O and replication counters (KiB)");
  boost::program_options::variables_map vm;
  parse_command_options(kCommand_status, args, opts, nullptr, &vm);
  config::Config cfg = load_config(args.global);
  std::vector<std::string> names;
  if (!args.resource.empty()) names.push_back(find_resource(cfg, args.resource).name);
  else
    for (const config::ResourceConfig& r : cfg.resources) names.push_back(r.name);

  std::string text_request = "status";
  if (verbose) text_request += " --verbose";
  if (statistics) text_request += " --statistics";
  int code = kExitOk;
  std::vector<std::string> outputs;
  for (const std::string& name : names) {
    Outcome o = status_of(args.global, name, json, text_request);
    code = combine(code, o.code);
    if (!o.output.empty()) outputs.push_back(std::move(o.output));
  }
  if (json && args.resource.empty()) {
    std::string all = "[";
    for (size_t i = 0; i < outputs.size(); ++i) all += (i == 0 ? "" : ",\n") + outputs[i];
    fmt::print("{}]\n", all);
  } else {
    for (size_t i = 0; i < outputs.size(); ++i) fmt::print("{}{}\n", i == 0 || json ? "" : "\n", outputs[i]);
  }
  return code;
}

}  // namespace

const Command kCommand_status = {"status", ResourceArg::Optional, "[RES] [--json] [--verbose] [--statistics]",
                                 "show the state of RES (all resources when omitted)", run_status};

}  // namespace tandem::adm
