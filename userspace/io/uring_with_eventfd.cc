#include "io/uring_with_eventfd.h"

#include <fmt/format.h>
#include <sys/eventfd.h>

#include <cerrno>
#include <cstring>

namespace tandem {

bool init_uring_with_eventfd(unsigned entries, io_uring* ring, bool* ring_ok, UniqueFd* event_fd,
                             const char* what, std::string* error) {
  event_fd->reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!event_fd->valid()) {
    *error = fmt::format("eventfd for {}: {}", what, strerror(errno));
    return false;
  }
  int rc = io_uring_queue_init(entries, ring, 0);
  if (rc < 0) {
    *error = fmt::format("io_uring_queue_init for {}: {}", what, strerror(-rc));
    return false;
  }
  *ring_ok = true;
  rc = io_uring_register_eventfd(ring, event_fd->get());
  if (rc < 0) {
    *error = fmt::format("io_uring_register_eventfd for {}: {}", what, strerror(-rc));
    return false;
  }
  return true;
}

}  // namespace tandem
