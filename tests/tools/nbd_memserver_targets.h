// Targets used only by the nbd_memserver test tool.
//
// ThreadedTarget: forwards each request to an inner (synchronous) target on one of N worker threads, so
// completions arrive on other threads and out of submission order, as they do from the replicated target.
// Bounded queue (submit blocks briefly when it is full, as the BlockTarget contract allows).
// FileTarget: a regular file through pread/pwrite; flush and FUA use fdatasync; trim and write-zeroes write
// zeroes (a test tool needs correctness, not hole punching).
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "frontend/block_target.h"

namespace tandem {

class ThreadedTarget final : public BlockTarget {
 public:
  ThreadedTarget(BlockTarget* inner, int threads, size_t queue_max = 1024);
  ~ThreadedTarget() override;
  uint64_t size_bytes() const override { return inner_->size_bytes(); }
  bool writable() const override { return inner_->writable(); }
  void submit(IoRequest* req) override;

 private:
  void worker();
  BlockTarget* const inner_;
  const size_t queue_max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<IoRequest*> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;         // GUARDED_BY(mu_)
  std::vector<std::thread> workers_;
};

class FileTarget final : public BlockTarget {
 public:
  static std::unique_ptr<FileTarget> open(const std::string& path, bool read_only, std::string* error);
  uint64_t size_bytes() const override { return size_bytes_; }
  bool writable() const override { return !read_only_; }
  void submit(IoRequest* req) override;

 private:
  FileTarget(UniqueFd fd, uint64_t size, bool read_only) : fd_(std::move(fd)), size_bytes_(size), read_only_(read_only) {}
  int execute(IoRequest* req);
  UniqueFd fd_;
  uint64_t size_bytes_;
  bool read_only_;
};

}  // namespace tandem
