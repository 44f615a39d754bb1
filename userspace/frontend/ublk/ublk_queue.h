// One ublk hardware queue: its own thread, its own io_uring on /dev/ublkcN, `depth` tags, each with a buffer
// this process owns (the kernel copies write data into it before a request arrives, and read data out of it
// when the request is committed; no zero copy, no user copy).
//
// Protocol per tag: FETCH_REQ once at start; its completion (result 0) means request `tag` is described in the
// shared descriptor array; the request goes to the BlockTarget; when the target completes it (on any thread),
// COMMIT_AND_FETCH_REQ carries the result and re-arms the tag. A completion with UBLK_IO_RES_ABORT (-ENODEV)
// means the device is stopping: that tag is never re-armed. The thread leaves when every tag is aborted and
// the target holds none of its requests.
//
// Threading: the kernel insists that every command of a queue comes from one thread, the one that sent the
// first FETCH_REQ; so the target's completions are handed to that thread through a mutex-guarded list and an
// eventfd the ring polls. Nothing on this thread sends control commands or touches /dev/ublkbN (deadlock
// rule). It sets PR_SET_IO_FLUSHER so memory reclaim inside it does not wait for writeback to this device.
//
// Bounds: `depth` requests in flight to the target, `depth * buffer_bytes` of buffers, nothing allocated per
// request.
//
// Lifetime: start() and join() come from the control thread. If join()'s deadline passes while the target
// still holds requests, drained() stays false and the owner must leak the object rather than destroy it
// (a late completion would touch freed memory), as the NBD frontends do.
#pragma once

#include <liburing.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "frontend/block_target.h"
#include "frontend/ublk/ublk_abi.h"
#include "frontend/ublk/ublk_opcodes.h"

namespace tandem::ublk {

struct QueueConfig {
  int char_fd = -1;  // /dev/ublkcN, owned by the frontend; outlives the queue.
  uint16_t q_id = 0;
  uint16_t depth = 0;
  uint32_t buffer_bytes = 0;  // The device's max_io_buf_bytes.
  uint64_t device_bytes = 0;  // Requests beyond it are refused.
  Encoding encoding = Encoding::Legacy;
  BlockTarget* target = nullptr;
  std::string name;  // "ublk r0 queue 0", for log lines.
};

class Queue {
 public:
  explicit Queue(QueueConfig config);
  ~Queue();  // REQUIRES: join() returned true, or the thread was never started.
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  // Maps the descriptor array and the buffers, starts the thread and waits (bounded) until it has sent
  // FETCH_REQ for every tag. 0, or a negative errno with *error.
  int start(std::chrono::milliseconds timeout, std::string* error);
  // Waits until the thread has left (all tags aborted, no request with the target). At the deadline it tells
  // the thread to leave anyway and returns false.
  bool join(std::chrono::steady_clock::time_point deadline);
  // True when the target holds no request of this queue.
  bool drained();

 private:
  struct Tag {
    IoRequest req;
    Queue* queue = nullptr;
    uint16_t tag = 0;
    uint8_t* buffer = nullptr;
    int32_t result = 0;  // For COMMIT_AND_FETCH_REQ.
  };

  void run();
  int setup_ring(std::string* error);
  void queue_io_cmd(IoCmd cmd, uint16_t tag, int32_t result);
  void queue_event_poll();
  void on_cqe(const io_uring_cqe& cqe);
  void handle_request(Tag& t);
  void drain_completions();
  static void on_complete(IoRequest* req, int result);
  void complete(Tag* t, int result);
  void report_started(int rc, std::string error);

  const QueueConfig config_;
  std::vector<Tag> tags_;
  const ublksrv_io_desc* descs_ = nullptr;  // mmap of the kernel's descriptor array, read-only
  size_t descs_bytes_ = 0;
  uint8_t* buffers_ = nullptr;  // depth * buffer_bytes, page aligned
  size_t buffers_bytes_ = 0;
  UniqueFd event_fd_;           // completions from the target wake the ring (polled by it)
  io_uring ring_{};
  bool ring_ok_ = false;
  std::thread thread_;

  // Queue thread only.
  uint32_t aborted_ = 0;        // tags the kernel will never fill again
  uint32_t with_target_ = 0;    // requests the target holds (mirrored in inflight_ for other threads)
  uint32_t errors_logged_ = 0;
  std::vector<uint16_t> done_local_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<uint16_t> done_;   // GUARDED_BY(mu_): completed tags waiting for COMMIT_AND_FETCH_REQ
  bool started_ = false;         // GUARDED_BY(mu_)
  int start_rc_ = 0;             // GUARDED_BY(mu_)
  std::string start_error_;      // GUARDED_BY(mu_)
  bool finished_ = false;        // GUARDED_BY(mu_)
  std::atomic<bool> give_up_{false};
  std::atomic<uint32_t> inflight_{0};
  std::atomic<uint32_t> target_errors_logged_{0};  // completions come from any thread
};

}  // namespace tandem::ublk
