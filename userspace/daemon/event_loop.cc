#include "daemon/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/check.h"
#include "common/log.h"

namespace tandem {

EventLoop::EventLoop()
    : epoll_(epoll_create1(EPOLL_CLOEXEC)),
      inbox_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      tick_fd_(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) {
  if (!ok()) return;
  itimerspec its{};
  its.it_interval.tv_nsec = kTickMs * 1000000;
  its.it_value.tv_nsec = kTickMs * 1000000;
  timerfd_settime(tick_fd_.get(), 0, &its, nullptr);
  add(inbox_fd_.get(), EPOLLIN, [this](uint32_t) { drain_inbox(); });
  add(tick_fd_.get(), EPOLLIN, [this](uint32_t) {
    uint64_t n;
    ssize_t ignored = ::read(tick_fd_.get(), &n, sizeof n);
    (void)ignored;
    if (tick_) tick_();
  });
}

void EventLoop::add(int fd, uint32_t events, FdHandler handler) {
  handlers_[fd] = std::move(handler);
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  TANDEM_CHECK_MSG(epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0, strerror(errno));
}

void EventLoop::modify(int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  TANDEM_CHECK_MSG(epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) == 0, strerror(errno));
}

void EventLoop::remove(int fd) {
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  handlers_.erase(fd);
}

void EventLoop::post_request(IoRequest* req) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake = requests_.empty() && tasks_.empty();
    requests_.push_back(req);
  }
  if (wake) {
    uint64_t one = 1;
    ssize_t ignored = ::write(inbox_fd_.get(), &one, sizeof one);
    (void)ignored;
  }
}

void EventLoop::post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back(std::move(fn));
  }
  uint64_t one = 1;
  ssize_t ignored = ::write(inbox_fd_.get(), &one, sizeof one);
  (void)ignored;
}

void EventLoop::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  uint64_t one = 1;
  ssize_t ignored = ::write(inbox_fd_.get(), &one, sizeof one);
  (void)ignored;
}

void EventLoop::drain_inbox() {
  uint64_t n;
  ssize_t ignored = ::read(inbox_fd_.get(), &n, sizeof n);
  (void)ignored;
  std::vector<IoRequest*> reqs;
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    reqs.swap(requests_);
    tasks.swap(tasks_);
  }
  for (IoRequest* r : reqs) on_request_(r);
  for (auto& t : tasks) t();
}

void EventLoop::run() {
  epoll_event events[64];
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return;
    }
    if (before_wait_) before_wait_();
    int n = epoll_wait(epoll_.get(), events, 64, 1000);
    if (n < 0) {
      if (errno == EINTR) continue;
      log_error("epoll_wait: {}", strerror(errno));
      return;
    }
    for (int i = 0; i < n; i++) {
      auto it = handlers_.find(events[i].data.fd);
      if (it == handlers_.end()) continue;  // removed by an earlier handler in this batch
      FdHandler h = it->second;            // copy: the handler may remove itself
      h(events[i].events);
    }
  }
}

uint64_t EventLoop::now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

}  // namespace tandem
