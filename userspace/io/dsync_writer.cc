#include "io/dsync_writer.h"

#include <fmt/format.h>
#include <linux/fs.h>

#include <cerrno>
#include <cstring>

#include "common/check.h"
#include "common/log.h"
#include "io/uring_with_eventfd.h"

namespace tandem {

DsyncWriter::~DsyncWriter() {
  if (!ring_ok_) return;
  // A 4 KiB synchronous write finishes in milliseconds; after a bounded wait we give up on it rather than
  // hang a shutdown (the process is about to exit with its memory).
  for (int tries = 0; in_flight_ > 0 && tries < 100; tries++) {
    __kernel_timespec ts{0, 100'000'000};
    io_uring_cqe* cqe = nullptr;
    if (io_uring_wait_cqe_timeout(&ring_, &cqe, &ts) == 0 && cqe) {
      Slot& s = slots_[io_uring_cqe_get_data64(cqe)];
      io_uring_cqe_seen(&ring_, cqe);
      s.used = false;
      in_flight_--;
    }
  }
  if (in_flight_ > 0) log_error("{} metadata write(s) still in flight at shutdown", in_flight_);
  io_uring_queue_exit(&ring_);
}

bool DsyncWriter::open(int fd, std::string* error) {
  fd_ = fd;
  return init_uring_with_eventfd(kMaxInFlight, &ring_, &ring_ok_, &event_fd_, "metadata writes", error);
}

void DsyncWriter::submit(uint64_t tag, uint64_t offset, const uint8_t* data, uint32_t length) {
  TANDEM_CHECK(ring_ok_ && in_flight_ < kMaxInFlight && length > 0 && length <= kMaxBlockBytes);
  unsigned i = 0;
  while (slots_[i].used) i++;
  Slot& s = slots_[i];
  s.used = true;
  s.tag = tag;
  s.offset = offset;
  s.length = length;
  s.done = 0;
  std::memcpy(s.buf.data(), data, length);
  in_flight_++;
  issue(i);
}

void DsyncWriter::issue(unsigned slot) {
  Slot& s = slots_[slot];
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  TANDEM_CHECK(sqe != nullptr);  // the ring has kMaxInFlight entries, one per slot
  io_uring_prep_write(sqe, fd_, s.buf.data() + s.done, s.length - s.done, s.offset + s.done);
  sqe->rw_flags = RWF_DSYNC;
  io_uring_sqe_set_data64(sqe, slot);
  kick();
}

void DsyncWriter::kick() {
  if (!ring_ok_ || io_uring_sq_ready(&ring_) == 0) return;
  int rc = io_uring_submit(&ring_);
  // The entry stays in the submission queue: the next kick (every loop tick) hands it to the kernel.
  if (rc < 0) log_warn("io_uring_submit for a metadata write: {}; retrying", strerror(-rc));
}

void DsyncWriter::reap(const std::function<void(uint64_t tag, int result)>& done) {
  uint64_t ignored;
  while (::read(event_fd_.get(), &ignored, sizeof ignored) > 0) {
  }
  io_uring_cqe* cqe = nullptr;
  while (io_uring_peek_cqe(&ring_, &cqe) == 0 && cqe) {
    unsigned slot = static_cast<unsigned>(io_uring_cqe_get_data64(cqe));
    int res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    TANDEM_CHECK(slot < kMaxInFlight && slots_[slot].used);
    Slot& s = slots_[slot];
    if (res > 0 && s.done + static_cast<uint32_t>(res) < s.length) {
      s.done += static_cast<uint32_t>(res);  // short write: continue with the rest
      issue(slot);
      continue;
    }
    int result = res < 0 ? res : res == 0 ? -EIO : 0;  // 0 bytes written with bytes left: no progress possible
    s.used = false;
    in_flight_--;
    done(s.tag, result);
  }
}

}  // namespace tandem
