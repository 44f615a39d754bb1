// Sets up an io_uring whose completions are signalled on an eventfd, so an epoll loop can wait for them: the
// shape every ring of the daemon's loop uses (backing store, metadata writes).
#pragma once

#include <liburing.h>

#include <string>

#include "common/unique_fd.h"

namespace tandem {

// Creates a non-blocking eventfd in *event_fd and a ring of `entries` in *ring with the eventfd registered.
// *ring_ok says whether *ring must be torn down with io_uring_queue_exit (also when a later step failed).
// `what` names the ring in the message of a failure.
bool init_uring_with_eventfd(unsigned entries, io_uring* ring, bool* ring_ok, UniqueFd* event_fd,
                             const char* what, std::string* error);

}  // namespace tandem
