#include "control_client.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/unique_fd.h"

namespace tandem::adm {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(left);
}

// Waits for `events` on fd until the deadline. Returns 0 when ready, -ETIMEDOUT, or -errno.
int wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    struct pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, remaining_ms(deadline));
    if (n > 0) return 0;
    if (n == 0) return -ETIMEDOUT;
    if (errno != EINTR) return -errno;
  }
}

}  // namespace

RunPaths run_paths(const std::string& run_dir, const std::string& resource) {
  std::string base = run_dir.ends_with('/') ? run_dir + resource : run_dir + "/" + resource;
  return {base + ".ctl", base + ".pid", base + ".log"};
}

bool parse_control_response(std::string_view raw, ControlResponse* out, std::string* error) {
  if (raw.empty()) {
    *error = "the daemon closed the connection without answering";
    return false;
  }
  size_t nl = raw.find('\n');
  std::string_view first = raw.substr(0, nl);
  *out = ControlResponse{};
  if (nl != std::string_view::npos) out->body = std::string(raw.substr(nl + 1));
  if (first == "OK") {
    out->ok = true;
    return true;
  }
  if (first.starts_with("ERR ")) {
    std::string_view num = first.substr(4);
    int code = 0;
    auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), code);
    if (ec == std::errc() && end == num.data() + num.size() && code >= 1 && code <= 255) {
      out->ok = false;
      out->code = code;
      return true;
    }
  }
  constexpr size_t kShown = 80;
  *error = fmt::format("malformed response from the daemon: first line '{}{}' (expected 'OK' or 'ERR CODE')",
                       first.substr(0, kShown), first.size() > kShown ? "..." : "");
  return false;
}

ControlResult control_request(const std::string& socket_path, std::string_view request, int timeout_ms,
                              ControlResponse* out, std::string* error) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  if (request.find('\n') != std::string_view::npos || request.size() + 1 > kControlMaxRequestBytes) {
    *error = fmt::format("invalid control request (contains a newline or is longer than {} bytes)",
                         kControlMaxRequestBytes - 1);
    return ControlResult::Failed;
  }
  struct sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    *error = fmt::format("control socket path {} is longer than the {} bytes a unix socket allows; use a shorter "
                         "--run-dir",
                         socket_path, sizeof(addr.sun_path) - 1);
    return ControlResult::Failed;
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    *error = fmt::format("cannot create a unix socket: {}", std::strerror(errno));
    return ControlResult::Failed;
  }
  // A non-blocking unix connect either completes at once or fails with EAGAIN when the daemon's backlog is
  // full; retry that until the deadline instead of blocking without bound.
  for (;;) {
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0) break;
    int e = errno;
    if (e == EINTR) continue;
    if (e == ENOENT) {
      *error = fmt::format("no daemon socket at {}", socket_path);
      return ControlResult::NotRunning;
    }
    if (e == ECONNREFUSED) {
      *error = fmt::format("nobody listens on {} (stale socket of a daemon that is gone)", socket_path);
      return ControlResult::NotRunning;
    }
    if (e == EAGAIN && remaining_ms(deadline) > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    *error = fmt::format("cannot connect to {}: {}", socket_path, std::strerror(e));
    return ControlResult::Failed;
  }

  std::string line = std::string(request) + "\n";
  size_t sent = 0;
  while (sent < line.size()) {
    ssize_t n = ::send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      int rc = wait_for(fd.get(), POLLOUT, deadline);
      if (rc == 0) continue;
      *error = rc == -ETIMEDOUT ? fmt::format("timed out after {} ms sending '{}' to {}", timeout_ms, request,
                                              socket_path)
                                : fmt::format("cannot send to {}: {}", socket_path, std::strerror(-rc));
      return ControlResult::Failed;
    }
    *error = fmt::format("cannot send to {}: {}", socket_path, std::strerror(errno));
    return ControlResult::Failed;
  }

  std::string raw;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n == 0) break;  // the daemon closed: response complete
    if (n > 0) {
      raw.append(buf, static_cast<size_t>(n));
      if (raw.size() > kControlMaxResponseBytes) {
        *error = fmt::format("response from {} is larger than {} bytes", socket_path, kControlMaxResponseBytes);
        return ControlResult::Failed;
      }
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) {
      int rc = wait_for(fd.get(), POLLIN, deadline);
      if (rc == 0) continue;
      *error = rc == -ETIMEDOUT ? fmt::format("no complete answer to '{}' from {} within {} s", request,
                                              socket_path, timeout_ms / 1000.0)
                                : fmt::format("cannot read from {}: {}", socket_path, std::strerror(-rc));
      return ControlResult::Failed;
    }
    *error = fmt::format("cannot read from {}: {}", socket_path, std::strerror(errno));
    return ControlResult::Failed;
  }
  std::string parse_error;
  if (!parse_control_response(raw, out, &parse_error)) {
    *error = fmt::format("{}: {}", socket_path, parse_error);
    return ControlResult::Failed;
  }
  return ControlResult::Ok;
}

}  // namespace tandem::adm
