// Blocking, whole-buffer socket reads and writes for the NBD export.
//
// Every function returns 0 on success or a negative errno; a peer that closed the stream is -ECONNRESET,
// a socket timeout (SO_RCVTIMEO/SO_SNDTIMEO) is -EAGAIN. Sends use MSG_NOSIGNAL so a vanished client never
// raises SIGPIPE in the daemon. EINTR is retried.
#pragma once

#include <sys/uio.h>

#include <cstddef>

namespace tandem::nbd {

int recv_all(int fd, void* buf, size_t length_bytes);
// Reads and drops `length_bytes` (a refused WRITE's payload) through a small stack buffer.
int recv_discard(int fd, size_t length_bytes);
// Sends every byte of the iovecs; `iov` is modified to track partial sends.
int send_all(int fd, struct iovec* iov, int iov_count);
int send_all(int fd, const void* buf, size_t length_bytes);

// Sets SO_RCVTIMEO / SO_SNDTIMEO; 0 means no timeout.
int set_recv_timeout(int fd, int timeout_ms);
int set_send_timeout(int fd, int timeout_ms);

}  // namespace tandem::nbd
