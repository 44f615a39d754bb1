// An in-memory BlockTarget for frontend tests: completes every request synchronously, on the caller's thread.
#pragma once

#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "frontend/block_target.h"

namespace tandem {

class MemoryTarget final : public BlockTarget {
 public:
  explicit MemoryTarget(uint64_t size_bytes) : data_(size_bytes, 0) {}

  uint64_t size_bytes() const override { return data_.size(); }
  bool writable() const override { return writable_; }
  void set_writable(bool w) { writable_ = w; }

  void submit(IoRequest* req) override {
    int result = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      bool ranged = req->op != IoOp::Flush;
      if (ranged && (req->offset > data_.size() || req->length > data_.size() - req->offset)) {
        result = -EINVAL;
      } else if (req->op != IoOp::Read && req->op != IoOp::Flush && !writable_) {
        result = -EROFS;
      } else {
        switch (req->op) {
          case IoOp::Read: std::memcpy(req->data, &data_[req->offset], req->length); break;
          case IoOp::Write: std::memcpy(&data_[req->offset], req->data, req->length); break;
          case IoOp::Trim:
          case IoOp::WriteZeroes: std::memset(&data_[req->offset], 0, req->length); break;
          case IoOp::Flush: flushes_++; break;
        }
      }
    }
    req->complete(result);
  }

  // For assertions in tests.
  std::vector<uint8_t> snapshot() {
    std::lock_guard<std::mutex> lock(mu_);
    return data_;
  }
  int flushes() {
    std::lock_guard<std::mutex> lock(mu_);
    return flushes_;
  }

 private:
  std::mutex mu_;
  std::vector<uint8_t> data_;
  bool writable_ = true;
  int flushes_ = 0;
};

}  // namespace tandem
