#include "io/uring_storage.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/check.h"
#include "common/log.h"
#include "io/uring_with_eventfd.h"

namespace tandem {

namespace {
constexpr uint64_t kAlign = 4096;
uint64_t slot_user_data(uint32_t slot) { return slot; }
}  // namespace

UringStorage::~UringStorage() {
  if (ring_ok_) io_uring_queue_exit(&ring_);
}

bool UringStorage::open(const std::string& path, uint64_t data_size_bytes, std::string* error) {
  int fd = ::open(path.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
  direct_io_ = fd >= 0;
  if (fd < 0) fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    *error = fmt::format("cannot open backing store {}: {}", path, strerror(errno));
    return false;
  }
  direct_fd_.reset(fd);
  buffered_fd_.reset(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!buffered_fd_.valid()) {
    *error = fmt::format("cannot open backing store {}: {}", path, strerror(errno));
    return false;
  }
  size_ = data_size_bytes;
  if (!init_uring_with_eventfd(kQueueDepth, &ring_, &ring_ok_, &event_fd_, "the backing store", error)) return false;
  slots_.resize(kQueueDepth);
  for (uint32_t i = kQueueDepth; i > 0; i--) free_slots_.push_back(i - 1);
  zero_block_.assign(1 << 20, 0);
  log_info("backing store {}: {} bytes of data, {}", path, size_,
           direct_io_ ? "O_DIRECT" : "buffered (O_DIRECT not supported here)");
  return true;
}

bool UringStorage::aligned(const StorageOp& op) const {
  return direct_io_ && op.offset % kAlign == 0 && op.length % kAlign == 0 &&
         reinterpret_cast<uintptr_t>(op.buf) % kAlign == 0;
}

io_uring_sqe* UringStorage::get_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) {
    unsubmitted_ = false;
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  TANDEM_CHECK(sqe != nullptr);  // bounded by kQueueDepth slots, each at most 2 SQEs per submit round
  return sqe;
}

void UringStorage::submit(const StorageOp& op) {
  TANDEM_CHECK(op.kind == StorageOpKind::Flush || op.offset + op.length <= size_);
  if (free_slots_.empty()) {
    backlog_.push_back(op);
    return;
  }
  uint32_t slot = free_slots_.back();
  free_slots_.pop_back();
  slots_[slot] = Slot{true, op, 0, 0, 0};
  in_flight_++;
  issue(slot);
  unsubmitted_ = true;
}

void UringStorage::flush_submissions() {
  if (!unsubmitted_) return;
  unsubmitted_ = false;
  io_uring_submit(&ring_);
}

void UringStorage::issue(uint32_t slot) {
  Slot& s = slots_[slot];
  const StorageOp& op = s.op;
  int fd = aligned(op) ? direct_fd_.get() : buffered_fd_.get();
  io_uring_sqe* sqe = nullptr;
  switch (op.kind) {
    case StorageOpKind::Read:
      sqe = get_sqe();
      io_uring_prep_read(sqe, fd, op.buf + s.done_bytes, op.length - s.done_bytes, op.offset + s.done_bytes);
      s.pending_sqes = 1;
      break;
    case StorageOpKind::Write:
      sqe = get_sqe();
      io_uring_prep_write(sqe, fd, op.buf + s.done_bytes, op.length - s.done_bytes, op.offset + s.done_bytes);
      if (op.fua) sqe->rw_flags = RWF_DSYNC;
      s.pending_sqes = 1;
      break;
    case StorageOpKind::Flush:
      // Both descriptors: data written through either must be durable.
      sqe = get_sqe();
      io_uring_prep_fsync(sqe, direct_fd_.get(), IORING_FSYNC_DATASYNC);
      io_uring_sqe_set_data64(sqe, slot_user_data(slot));
      sqe = get_sqe();
      io_uring_prep_fsync(sqe, buffered_fd_.get(), IORING_FSYNC_DATASYNC);
      s.pending_sqes = 2;
      break;
    case StorageOpKind::Trim:
      sqe = get_sqe();
      io_uring_prep_fallocate(sqe, buffered_fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, op.offset,
                              op.length);
      s.pending_sqes = 1;
      break;
    case StorageOpKind::WriteZeroes:
      sqe = get_sqe();
      io_uring_prep_fallocate(sqe, buffered_fd_.get(), FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, op.offset,
                              op.length);
      s.pending_sqes = 1;
      break;
  }
  io_uring_sqe_set_data64(sqe, slot_user_data(slot));
}

int UringStorage::reap(const std::function<void(uint64_t, int)>& done) {
  flush_submissions();
  uint64_t counter;
  ssize_t ignored = ::read(event_fd_.get(), &counter, sizeof counter);
  (void)ignored;  // EAGAIN just means a previous reap already drained it
  int n = 0;
  io_uring_cqe* cqe;
  while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
    uint32_t slot = static_cast<uint32_t>(io_uring_cqe_get_data64(cqe));
    int res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    TANDEM_CHECK(slot < slots_.size() && slots_[slot].used);
    Slot& s = slots_[slot];
    n++;
    if ((s.op.kind == StorageOpKind::Read || s.op.kind == StorageOpKind::Write) && res >= 0) {
      if (res == 0) {
        s.result = -EIO;  // end of file inside the data area: the backing store shrank
      } else if (s.done_bytes + static_cast<uint32_t>(res) < s.op.length) {
        s.done_bytes += res;  // short transfer: continue where it stopped
        issue(slot);
        unsubmitted_ = true;
        continue;
      }
    } else if (res < 0 && s.result == 0) {
      if ((s.op.kind == StorageOpKind::WriteZeroes || s.op.kind == StorageOpKind::Trim) &&
          (res == -EOPNOTSUPP || res == -EINVAL)) {
        // Not supported by this backing store: write zeroes by hand (rare; synchronous is acceptable here).
        // A trim must also leave zeroes, so both replicas read the same afterwards.
        res = 0;
        for (uint64_t off = 0; off < s.op.length && res == 0;) {
          size_t len = std::min<uint64_t>(zero_block_.size(), s.op.length - off);
          if (::pwrite(buffered_fd_.get(), zero_block_.data(), len, s.op.offset + off) != ssize_t(len)) res = -EIO;
          off += len;
        }
      }
      s.result = res;
    }
    if (--s.pending_sqes == 0) {
      if (s.result == 0 && s.op.fua &&
          (s.op.kind == StorageOpKind::Trim || s.op.kind == StorageOpKind::WriteZeroes) &&
          fdatasync(buffered_fd_.get()) != 0) {
        s.result = -errno;  // FUA promises durability; fallocate alone does not give it (rare: synchronous)
      }
      finish(slot, done);
    }
  }
  return n;
}

void UringStorage::finish(uint32_t slot, const std::function<void(uint64_t, int)>& done) {
  Slot s = slots_[slot];
  slots_[slot].used = false;
  free_slots_.push_back(slot);
  in_flight_--;
  if (!backlog_.empty()) {
    StorageOp next = backlog_.front();
    backlog_.pop_front();
    submit(next);
  }
  done(s.op.tag, s.result);
}

int UringStorage::sync_now() {
  int rc = 0;
  if (direct_fd_.valid() && fdatasync(direct_fd_.get()) != 0) rc = -errno;
  if (buffered_fd_.valid() && fdatasync(buffered_fd_.get()) != 0) rc = -errno;
  return rc;
}

}  // namespace tandem
