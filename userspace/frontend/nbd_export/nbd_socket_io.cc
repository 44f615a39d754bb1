#include "frontend/nbd_export/nbd_socket_io.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

namespace tandem::nbd {

int recv_all(int fd, void* buf, size_t length_bytes) {
  auto* p = static_cast<uint8_t*>(buf);
  size_t done = 0;
  while (done < length_bytes) {
    ssize_t n = ::recv(fd, p + done, length_bytes - done, 0);
    if (n > 0) {
      done += size_t(n);
    } else if (n == 0) {
      return -ECONNRESET;
    } else if (errno == EINTR) {
      continue;
    } else {
      return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
  }
  return 0;
}

int recv_discard(int fd, size_t length_bytes) {
  uint8_t scratch[4096];
  while (length_bytes > 0) {
    size_t chunk = std::min(length_bytes, sizeof scratch);
    int rc = recv_all(fd, scratch, chunk);
    if (rc != 0) return rc;
    length_bytes -= chunk;
  }
  return 0;
}

int send_all(int fd, struct iovec* iov, int iov_count) {
  while (iov_count > 0) {
    if (iov[0].iov_len == 0) {
      iov++;
      iov_count--;
      continue;
    }
    struct msghdr msg = {};
    msg.msg_iov = iov;
    msg.msg_iovlen = size_t(iov_count);
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
    size_t sent = size_t(n);
    while (sent > 0) {
      size_t step = std::min(sent, iov[0].iov_len);
      iov[0].iov_base = static_cast<uint8_t*>(iov[0].iov_base) + step;
      iov[0].iov_len -= step;
      sent -= step;
      if (iov[0].iov_len == 0 && iov_count > 0) {
        iov++;
        iov_count--;
      }
    }
  }
  return 0;
}

int send_all(int fd, const void* buf, size_t length_bytes) {
  struct iovec iov = {const_cast<void*>(buf), length_bytes};
  return send_all(fd, &iov, 1);
}

namespace {
int set_timeout(int fd, int option, int timeout_ms) {
  struct timeval tv = {};
  tv.tv_sec = timeout_ms / 1000;
  tv.tv_usec = (timeout_ms % 1000) * 1000;
  if (::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv) != 0) return -errno;
  return 0;
}
}  // namespace

int set_recv_timeout(int fd, int timeout_ms) { return set_timeout(fd, SO_RCVTIMEO, timeout_ms); }
int set_send_timeout(int fd, int timeout_ms) { return set_timeout(fd, SO_SNDTIMEO, timeout_ms); }

}  // namespace tandem::nbd
