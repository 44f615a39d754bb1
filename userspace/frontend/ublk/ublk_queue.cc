#include "frontend/ublk/ublk_queue.h"

#include <sys/eventfd.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/check.h"
#include "common/log.h"
#include "frontend/ublk/ublk_request.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57  // Linux 5.6.
#endif

namespace tandem::ublk {

namespace {
constexpr uint64_t kEventUserData = 1ULL << 32;  // Tags are 16 bits: never collides.
constexpr uint32_t kMaxErrorsLogged = 20;
constexpr size_t kPageBytes = 4096;

size_t round_up_page(size_t n) { return (n + kPageBytes - 1) / kPageBytes * kPageBytes; }
}  // namespace

Queue::Queue(QueueConfig config) : config_(std::move(config)), tags_(config_.depth) {
  TANDEM_CHECK(config_.depth > 0 && config_.depth <= kMaxQueueDepth);
  done_.reserve(config_.depth);
  done_local_.reserve(config_.depth);
}

Queue::~Queue() {
  TANDEM_CHECK(!thread_.joinable());
  if (descs_ != nullptr) ::munmap(const_cast<ublksrv_io_desc*>(descs_), descs_bytes_);
  if (buffers_ != nullptr) ::munmap(buffers_, buffers_bytes_);
}

int Queue::start(std::chrono::milliseconds timeout, std::string* error) {
  // The descriptor array of queue q sits at q * kMaxDescBytes; the kernel refuses a longer mapping.
  descs_bytes_ = round_up_page(size_t{config_.depth} * sizeof(ublksrv_io_desc));
  void* d = ::mmap(nullptr, descs_bytes_, PROT_READ, MAP_SHARED | MAP_POPULATE, config_.char_fd,
                   static_cast<off_t>(config_.q_id * kMaxDescBytes));
  if (d == MAP_FAILED) {
    int e = errno;
    *error = fmt::format("{}: mmap of the request descriptors: {}", config_.name, std::strerror(e));
    return -e;
  }
  descs_ = static_cast<const ublksrv_io_desc*>(d);
  buffers_bytes_ = size_t{config_.depth} * config_.buffer_bytes;
  void* b = ::mmap(nullptr, buffers_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (b == MAP_FAILED) {
    int e = errno;
    *error = fmt::format("{}: {} bytes of request buffers: {}", config_.name, buffers_bytes_, std::strerror(e));
    return -e;
  }
  buffers_ = static_cast<uint8_t*>(b);
  for (uint16_t i = 0; i < config_.depth; ++i) {
    Tag& t = tags_[i];
    t.queue = this;
    t.tag = i;
    t.buffer = buffers_ + size_t{i} * config_.buffer_bytes;
    t.req.on_complete = &Queue::on_complete;
    t.req.frontend_ctx = &t;
  }
  int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) {
    int e = errno;
    *error = fmt::format("{}: eventfd: {}", config_.name, std::strerror(e));
    return -e;
  }
  event_fd_.reset(efd);

  thread_ = std::thread([this] { run(); });
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, timeout, [this] { return started_; })) {
    // The thread is stuck before its first submission (should not happen); make it leave.
    lock.unlock();
    join(std::chrono::steady_clock::now());
    *error = fmt::format("{}: the queue thread did not start within {} ms", config_.name, timeout.count());
    return -ETIMEDOUT;
  }
  if (start_rc_ != 0) {
    *error = start_error_;
    int rc = start_rc_;
    lock.unlock();
    thread_.join();
    return rc;
  }
  return 0;
}

void Queue::report_started(int rc, std::string error) {
  std::lock_guard<std::mutex> lock(mu_);
  started_ = true;
  start_rc_ = rc;
  start_error_ = std::move(error);
  cv_.notify_all();
}

int Queue::setup_ring(std::string* error) {
  io_uring_params p{};
  // SQE128 as the control ring (the reference implementation's choice; the 16-byte io command would fit a
  // 64-byte SQE). COOP_TASKRUN: the kernel's task work for this ring runs when this thread enters the kernel
  // anyway, so no interrupting IPIs.
  p.flags = IORING_SETUP_SQE128 | IORING_SETUP_COOP_TASKRUN;
  unsigned entries = config_.depth + 2u;  // every tag at most one command, plus the eventfd poll
  int rc = io_uring_queue_init_params(entries, &ring_, &p);
  if (rc == -EINVAL) {
    p = io_uring_params{};
    p.flags = IORING_SETUP_SQE128;
    rc = io_uring_queue_init_params(entries, &ring_, &p);
  }
  if (rc < 0) {
    *error = fmt::format("{}: io_uring: {}", config_.name, std::strerror(-rc));
    return rc;
  }
  ring_ok_ = true;
  int fds[1] = {config_.char_fd};
  rc = io_uring_register_files(&ring_, fds, 1);
  if (rc < 0) {
    *error = fmt::format("{}: registering /dev/ublkc with the ring: {}", config_.name, std::strerror(-rc));
    return rc;
  }
  return 0;
}

void Queue::queue_io_cmd(IoCmd cmd, uint16_t tag, int32_t result) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    io_uring_submit(&ring_);  // Cannot happen with depth + 2 entries; submit and retry to be safe.
    sqe = io_uring_get_sqe(&ring_);
    TANDEM_CHECK(sqe != nullptr);
  }
  io_uring_prep_rw(IORING_OP_URING_CMD, sqe, 0, nullptr, 0, 0);  // fd 0: index 0 of the registered files
  std::memset(&sqe->addr3, 0, 80);
  sqe->cmd_op = io_opcode(cmd, config_.encoding);  // after the prep: it overlays `off`
  sqe->__pad1 = 0;
  sqe->flags |= IOSQE_FIXED_FILE;
  ublksrv_io_cmd c{};
  c.q_id = config_.q_id;
  c.tag = tag;
  c.result = result;
  c.addr = reinterpret_cast<uintptr_t>(tags_[tag].buffer);
  std::memcpy(sqe->cmd, &c, sizeof c);
  sqe->user_data = tag;
}

void Queue::queue_event_poll() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
    TANDEM_CHECK(sqe != nullptr);
  }
  // A poll, not a read: the kernel polls an eventfd natively, while a read would be handed to an io-wq worker
  // thread for every wakeup. The counter is reset by a non-blocking read on this thread (on_cqe).
  io_uring_prep_poll_add(sqe, event_fd_.get(), POLLIN);
  sqe->user_data = kEventUserData;
}

void Queue::run() {
  if (::prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) != 0) {
    log_warn("{}: PR_SET_IO_FLUSHER not set ({}); under memory pressure, reclaim in this thread may wait for "
             "writeback to the device it serves", config_.name, std::strerror(errno));
  }
  std::string error;
  int rc = setup_ring(&error);
  if (rc == 0) {
    queue_event_poll();
    for (uint16_t i = 0; i < config_.depth; ++i) queue_io_cmd(IoCmd::FetchReq, i, 0);
    rc = io_uring_submit(&ring_);
    if (rc >= 0) {
      rc = 0;
    } else {
      error = fmt::format("{}: submitting FETCH_REQ: {}", config_.name, std::strerror(-rc));
    }
  }
  bool ok = rc == 0;
  report_started(rc, std::move(error));
  while (ok) {
    rc = io_uring_submit_and_wait(&ring_, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      log_error("{}: io_uring_submit_and_wait: {}; leaving the queue", config_.name, std::strerror(-rc));
      break;
    }
    unsigned head;
    unsigned seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      on_cqe(*cqe);
      seen++;
    }
    io_uring_cq_advance(&ring_, seen);
    drain_completions();
    if (aborted_ == config_.depth && with_target_ == 0) break;
    if (give_up_) {
      log_error("{}: leaving with {} request(s) still with the target and {} of {} tags not aborted",
                config_.name, with_target_, config_.depth - aborted_, config_.depth);
      break;
    }
  }
  if (ring_ok_) io_uring_queue_exit(&ring_);
  ring_ok_ = false;
  std::lock_guard<std::mutex> lock(mu_);
  finished_ = true;
  cv_.notify_all();
}

void Queue::on_cqe(const io_uring_cqe& cqe) {
  if (cqe.user_data == kEventUserData) {
    // Completions are picked up by drain_completions() after this batch of CQEs.
    if (cqe.res < 0) log_error("{}: polling the completion eventfd: {}", config_.name, std::strerror(-cqe.res));
    uint64_t value;
    (void)!::read(event_fd_.get(), &value, sizeof value);  // EAGAIN when already reset: fine
    queue_event_poll();
    return;
  }
  TANDEM_CHECK(cqe.user_data < config_.depth);
  Tag& t = tags_[cqe.user_data];
  if (cqe.res == UBLK_IO_RES_OK) {
    handle_request(t);
    return;
  }
  // UBLK_IO_RES_ABORT: the device is stopping (or a dead server's device is being recovered); anything else
  // is a refusal of our command, which leaves the tag just as unusable.
  aborted_++;
  if (cqe.res != kIoResAbort && errors_logged_++ < kMaxErrorsLogged)
    log_error("{}: the kernel refused the command for tag {}: {}", config_.name, t.tag, std::strerror(-cqe.res));
}

void Queue::handle_request(Tag& t) {
  ublksrv_io_desc desc;
  std::memcpy(&desc, &descs_[t.tag], sizeof desc);  // written by the kernel before the completion
  Translation tr = translate(desc, config_.buffer_bytes, config_.device_bytes);
  if (tr.error != 0) {
    if (errors_logged_++ < kMaxErrorsLogged)
      log_warn("{}: refusing request (op_flags {:#x}, sector {}, {} sectors): {}", config_.name, desc.op_flags,
               desc.start_sector, desc.nr_sectors, std::strerror(-tr.error));
    queue_io_cmd(IoCmd::CommitAndFetchReq, t.tag, tr.error);
    return;
  }
  IoRequest& r = t.req;
  r.op = tr.op;
  r.fua = tr.fua;
  r.offset = tr.offset;
  r.length = tr.length;
  r.data = (tr.op == IoOp::Read || tr.op == IoOp::Write) ? t.buffer : nullptr;
  r.target_ctx = 0;
  with_target_++;
  inflight_.fetch_add(1);
  config_.target->submit(&r);  // May complete at once, on this thread.
}

void Queue::on_complete(IoRequest* req, int result) {
  Tag* t = static_cast<Tag*>(req->frontend_ctx);
  t->queue->complete(t, result);
}

void Queue::complete(Tag* t, int result) {
  t->result = commit_result(t->req.op, t->req.length, result);
  if (result < 0 && target_errors_logged_.fetch_add(1) < kMaxErrorsLogged) {
    log_warn("{}: target failed request at offset {} length {}: {}", config_.name, t->req.offset, t->req.length,
             std::strerror(-result));
  }
  std::lock_guard<std::mutex> lock(mu_);
  bool wake = done_.empty();
  done_.push_back(t->tag);
  inflight_.fetch_sub(1);
  // Written under the lock: once the queue thread has taken this tag it may finish, and the owner may then
  // close the eventfd and free this object.
  if (wake) {
    uint64_t one = 1;
    (void)!::write(event_fd_.get(), &one, sizeof one);
  }
}

void Queue::drain_completions() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_.empty()) return;
    done_local_.swap(done_);
  }
  for (uint16_t tag : done_local_) {
    TANDEM_CHECK(with_target_ > 0);
    with_target_--;
    queue_io_cmd(IoCmd::CommitAndFetchReq, tag, tags_[tag].result);
  }
  done_local_.clear();
}

bool Queue::join(std::chrono::steady_clock::time_point deadline) {
  if (!thread_.joinable()) return true;
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_until(lock, deadline, [this] { return finished_; })) {
    lock.unlock();
    give_up_ = true;
    uint64_t one = 1;
    (void)!::write(event_fd_.get(), &one, sizeof one);
    // The thread wakes on the eventfd; if it does not leave promptly, something is badly wrong in the kernel.
    lock.lock();
    if (!cv_.wait_for(lock, std::chrono::seconds(5), [this] { return finished_; })) {
      log_error("{}: the queue thread does not leave; abandoning it", config_.name);
      lock.unlock();
      thread_.detach();
      return false;
    }
    lock.unlock();
    thread_.join();
    return false;
  }
  lock.unlock();
  thread_.join();
  return true;
}

bool Queue::drained() { return inflight_.load() == 0; }

}  // namespace tandem::ublk
