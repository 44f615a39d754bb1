#include "nbd_memserver_targets.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace tandem {

ThreadedTarget::ThreadedTarget(BlockTarget* inner, int threads, size_t queue_max)
    : inner_(inner), queue_max_(queue_max) {
  for (int i = 0; i < threads; i++) workers_.emplace_back([this] { worker(); });
}

ThreadedTarget::~ThreadedTarget() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadedTarget::submit(IoRequest* req) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return queue_.size() < queue_max_; });
  queue_.push_back(req);
  cv_.notify_all();
}

void ThreadedTarget::worker() {
  for (;;) {
    IoRequest* req;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // Stopping and drained.
      req = queue_.front();
      queue_.pop_front();
    }
    cv_.notify_all();
    inner_->submit(req);
  }
}

std::unique_ptr<FileTarget> FileTarget::open(const std::string& path, bool read_only, std::string* error) {
  int fd = ::open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot open " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  UniqueFd f(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    *error = path + " is not a regular file";
    return nullptr;
  }
  return std::unique_ptr<FileTarget>(new FileTarget(std::move(f), uint64_t(st.st_size), read_only));
}

void FileTarget::submit(IoRequest* req) { req->complete(execute(req)); }

int FileTarget::execute(IoRequest* req) {
  if (req->op != IoOp::Flush && (req->offset > size_bytes_ || req->length > size_bytes_ - req->offset)) {
    return -EINVAL;
  }
  if (req->op != IoOp::Read && req->op != IoOp::Flush && read_only_) return -EROFS;
  switch (req->op) {
    case IoOp::Read:
    case IoOp::Write: {
      uint64_t done = 0;
      while (done < req->length) {
        ssize_t n = req->op == IoOp::Read
                        ? ::pread(fd_.get(), req->data + done, req->length - done, off_t(req->offset + done))
                        : ::pwrite(fd_.get(), req->data + done, req->length - done, off_t(req->offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        if (n == 0) return -EIO;
        done += uint64_t(n);
      }
      break;
    }
    case IoOp::Trim:
    case IoOp::WriteZeroes: {
      static const uint8_t zeroes[65536] = {};
      uint64_t done = 0;
      while (done < req->length) {
        size_t chunk = size_t(std::min<uint64_t>(sizeof zeroes, req->length - done));
        ssize_t n = ::pwrite(fd_.get(), zeroes, chunk, off_t(req->offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return n < 0 ? -errno : -EIO;
        done += uint64_t(n);
      }
      break;
    }
    case IoOp::Flush:
      break;
  }
  if (req->op == IoOp::Flush || req->fua) {
    if (::fdatasync(fd_.get()) != 0) return -errno;
  }
  return 0;
}

}  // namespace tandem
