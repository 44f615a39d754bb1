// The client side of the tandemadm ↔ tandemd control protocol (docs/control-protocol.md): where a
// resource's socket, pid file and log live, sending one request line, and parsing the `OK` / `ERR CODE`
// response. No CLI concerns here (see control_cli.h); parse_control_response is pure and unit-tested.
//
// Bounds: a request is at most kControlMaxRequestBytes including its newline; a response is read until the
// daemon closes the connection, at most kControlMaxResponseBytes, and the whole exchange (connect, send,
// read) must finish within the caller's timeout.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tandem::adm {

// Exit statuses beyond cli_common.h's (see docs/tandemadm.md).
inline constexpr int kExitTimeout = 5;    // wait-connect / wait-sync gave up waiting
inline constexpr int kExitRefused = 11;   // the daemon refused a state change (protocol: ERR 11)

inline constexpr size_t kControlMaxRequestBytes = 4096;
inline constexpr size_t kControlMaxResponseBytes = 1 << 20;
inline constexpr int kControlTimeoutMs = 10'000;
// primary (creates the device), secondary (removes it) and down (demote, flush, save metadata) may
// legitimately take long.
inline constexpr int kControlLongTimeoutMs = 120'000;

// Files of one resource in the run directory.
struct RunPaths {
  std::string socket;  // DIR/RES.ctl
  std::string pid;     // DIR/RES.pid
  std::string log;     // DIR/RES.log
};
RunPaths run_paths(const std::string& run_dir, const std::string& resource);

struct ControlResponse {
  bool ok = false;
  int code = 0;      // 0 for OK; the exit status the daemon asks for after ERR (1..255)
  std::string body;  // everything after the first line, as sent
};

// Parses the complete bytes the daemon sent. Returns false with *error for an empty or malformed answer
// (first line neither "OK" nor "ERR N" with N in 1..255).
bool parse_control_response(std::string_view raw, ControlResponse* out, std::string* error);

enum class ControlResult {
  Ok,          // a response was received and parsed (it may still be ERR: see response.ok)
  NotRunning,  // no socket file, or nobody listens on it (stale socket of a dead daemon)
  Failed,      // anything else: timeout, I/O error, malformed response
};

// Connects to `socket_path`, sends `request` plus "\n" and reads the whole response, within `timeout_ms`.
// On anything but Ok, *error says what happened and names the socket.
ControlResult control_request(const std::string& socket_path, std::string_view request, int timeout_ms,
                              ControlResponse* out, std::string* error);

}  // namespace tandem::adm
