#include "control_cli.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

#include "cli_common.h"

namespace tandem::adm {

std::string control_or_fail(const GlobalOptions& global, const std::string& resource, std::string_view request,
                            int timeout_ms, int not_running_code) {
  RunPaths paths = run_paths(global.run_dir, resource);
  ControlResponse response;
  std::string error;
  switch (control_request(paths.socket, request, timeout_ms, &response, &error)) {
    case ControlResult::NotRunning:
      cli_fail(not_running_code, "resource {} is not up ({})", resource, error);
    case ControlResult::Failed:
      cli_fail(kExitFailed, "{}: {}", resource, error);
    case ControlResult::Ok:
      break;
  }
  if (!response.ok) {
    std::string_view body = response.body;
    while (!body.empty() && body.back() == '\n') body.remove_suffix(1);
    if (body.empty()) body = "the daemon refused the request without giving a reason";
    cli_fail(response.code, "{}: {}", resource, body);
  }
  return std::move(response.body);
}

int send_and_print(const CommandArgs& args, std::string_view request, int timeout_ms, bool changes_state) {
  config::Config cfg = load_config(args.global);
  find_resource(cfg, args.resource);
  if (changes_state && args.global.dry_run) {
    fmt::print("{}\n", dry_run_send_line(run_paths(args.global.run_dir, args.resource).socket, request));
    return kExitOk;
  }
  print_body(control_or_fail(args.global, args.resource, request, timeout_ms));
  return kExitOk;
}

std::string dry_run_send_line(const std::string& socket_path, std::string_view request) {
  return fmt::format("send '{}' to {}", request, socket_path);
}

void print_body(std::string_view body) {
  if (body.empty()) return;
  std::fwrite(body.data(), 1, body.size(), stdout);
  if (body.back() != '\n') std::fputc('\n', stdout);
}

double parse_timeout_s(const char* command, const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  // Bounded: a week is far beyond any sensible wait and keeps the millisecond arithmetic exact.
  constexpr double kMaxTimeoutS = 7 * 24 * 3600.0;
  if (text.empty() || end != text.c_str() + text.size() || !(v > 0) || v > kMaxTimeoutS)
    cli_fail(kExitUsage, "{}: invalid --timeout '{}' (expected seconds, more than 0 and at most {})", command, text,
             kMaxTimeoutS);
  return v;
}

}  // namespace tandem::adm
