// Starting DRBD-style handlers (`handlers { NAME "CMD"; }`): `/bin/sh -c CMD` with an environment built
// before fork (the child of a threaded process may only make async-signal-safe calls).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace tandem {

// Starts CMD detached (double fork, own session): the daemon never waits for it and it never becomes a
// zombie. Returns 0 or a negative errno.
int spawn_detached_handler(const std::string& cmd, const std::vector<std::string>& env);

// Starts CMD as a child whose exit the caller watches: *pidfd becomes readable when it exits; then
// reap_watched_handler gives its exit code. Returns 0 or a negative errno.
int spawn_watched_handler(const std::string& cmd, const std::vector<std::string>& env, pid_t* pid, UniqueFd* pidfd);

// Reaps a watched handler that has exited: its exit status, 128+N for a signal, or a negative errno.
int reap_watched_handler(int pidfd);

}  // namespace tandem
