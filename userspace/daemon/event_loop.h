// The resource's event loop: epoll over sockets and eventfds, a 100 ms tick, and a thread-safe inbox through
// which frontend threads hand over I/O requests and background tasks hand back results.
//
// Threading: run() and every callback run on the loop thread. post_request(), post() and stop() may be
// called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common/unique_fd.h"
#include "frontend/block_target.h"

namespace tandem {

class EventLoop {
 public:
  using FdHandler = std::function<void(uint32_t epoll_events)>;
  static constexpr uint64_t kTickMs = 100;

  EventLoop();
  bool ok() const { return epoll_.valid() && inbox_fd_.valid() && tick_fd_.valid(); }

  void add(int fd, uint32_t events, FdHandler handler);
  void modify(int fd, uint32_t events);
  void remove(int fd);

  // Called every kTickMs on the loop thread.
  void set_tick(std::function<void()> tick) { tick_ = std::move(tick); }
  // Called on the loop thread for each request posted by a frontend.
  void set_request_handler(std::function<void(IoRequest*)> h) { on_request_ = std::move(h); }
  // Called after each batch of events, before the loop waits again (to batch system calls).
  void set_before_wait(std::function<void()> h) { before_wait_ = std::move(h); }

  void post_request(IoRequest* req);
  void post(std::function<void()> fn);
  // Runs until stop(); returns after the current iteration.
  void run();
  void stop();

  static uint64_t now_ms();

 private:
  void drain_inbox();

  UniqueFd epoll_, inbox_fd_, tick_fd_;
  std::unordered_map<int, FdHandler> handlers_;
  std::function<void()> tick_;
  std::function<void(IoRequest*)> on_request_;
  std::function<void()> before_wait_;
  std::mutex mu_;
  std::vector<IoRequest*> requests_;           // GUARDED_BY(mu_)
  std::vector<std::function<void()>> tasks_;  // GUARDED_BY(mu_)
  bool stop_ = false;                          // GUARDED_BY(mu_)
};

}  // namespace tandem
