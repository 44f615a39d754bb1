// One NBD client connection: negotiation, then the transmission phase against a BlockTarget.
//
// Threading: run() executes on the connection's own thread (the "reader"): it reads requests and submits
// them to the target without waiting. The target completes them on any thread; the completion writes the
// reply under `write_mu_`, so replies go out in completion order, possibly out of request order (allowed by
// the protocol: clients match replies by cookie). request_stop() may be called from any thread.
//
// Bounds: `slots` preallocated requests per connection (a client with more outstanding requests is simply
// not read until one completes: backpressure through the socket), and at most `max_inflight_bytes` of
// READ/WRITE payload outstanding at once. Payloads up to kSmallPayloadBytes use a per-slot buffer that grows on
// demand and is kept; larger ones up to `slot_keep_bytes` borrow a buffer of that size from a pool backed by
// huge pages (cheaper for O_DIRECT, core/buffer_pool.h), which is kept for reuse too, so ordinary I/O sizes
// allocate nothing in the steady state and the pool never holds more buffers than were in flight at once. A
// larger request gets a buffer that is released when it completes, so 64 slots never pin 64 x 32 MiB.
//
// Lifetime: the object must outlive every request it submitted. run() waits for all of them before it
// returns, except after request_stop() when the deadline passes; then drained() is false and the owner must
// not destroy the object (it leaks it deliberately rather than let a late completion touch freed memory).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "common/page_aligned_allocator.h"
#include "common/unique_fd.h"
#include "core/buffer_pool.h"
#include "frontend/block_target.h"
#include "frontend/nbd_export/nbd_handshake.h"

namespace tandem::nbd {

struct ConnectionConfig {
  HandshakeConfig handshake;
  uint32_t slots = 64;
  uint32_t max_payload_bytes = 32u << 20;       // Advertised maximum block size; READ/WRITE beyond it refused.
  uint64_t max_inflight_bytes = 64ull << 20;    // Payload bytes outstanding per connection.
  uint32_t slot_keep_bytes = 1u << 20;          // Slot buffers up to this size are kept for reuse.
  int handshake_timeout_ms = 30000;             // A client that connects and says nothing is dropped.
  int send_timeout_ms = 60000;                  // A client that stops reading replies is dropped.
  // The kernel's NBD client does no negotiation: the daemon tells it size and flags through netlink or
  // ioctls and hands it a socket already in the transmission phase (frontend/kernel_nbd/).
  bool skip_handshake = false;
};

class Connection {
 public:
  // `target` and `config` must outlive the connection. `client` names the peer in log lines.
  Connection(UniqueFd fd, BlockTarget* target, const ConnectionConfig* config, std::string client);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Negotiates, serves requests until the client disconnects or request_stop(), then waits for in-flight
  // requests and closes the socket.
  void run();

  // Shuts the socket down so run() returns; run() then waits for in-flight requests until `deadline`.
  void request_stop(std::chrono::steady_clock::time_point deadline);

  // After run() returned: true when no request is still owned by the target.
  bool drained();
  const std::string& client() const { return client_; }

 private:
  // Payloads above this come from the pool of `slot_keep_bytes` buffers (when they fit them).
  static constexpr uint32_t kSmallPayloadBytes = 64u << 10;

  struct Slot {
    IoRequest req;
    Connection* conn = nullptr;
    uint64_t cookie = 0;
    uint32_t payload_bytes = 0;  // Counted against max_inflight_bytes.
    // Aligned, so the backing store can use O_DIRECT. `buffer` holds small and oversized payloads; `pooled` is
    // a buffer borrowed from big_buffers_ for the request in flight, or null.
    std::vector<uint8_t, PageAlignedAllocator<uint8_t>> buffer;
    uint8_t* pooled = nullptr;
    uint8_t reply[16];           // kSimpleReplyBytes
  };

  void serve();
  Slot* acquire_slot(uint32_t payload_bytes);
  void release_slot(Slot* slot);
  void wait_for_inflight();
  bool send_reply(uint32_t error, uint64_t cookie);  // From the reader thread, for requests never submitted.
  static void on_complete(IoRequest* req, int result);
  void complete(Slot* slot, int result);
  void mark_broken(const char* why, int rc);
  void log_refusal(const char* reason, uint64_t cookie);

  UniqueFd fd_;
  BlockTarget* const target_;
  const ConnectionConfig* const config_;
  const std::string client_;
  uint64_t size_bytes_ = 0;    // Fixed at negotiation.
  bool read_only_ = false;     // Fixed at negotiation.
  uint32_t refusals_logged_ = 0;                // Reader thread only.
  std::atomic<uint32_t> failures_logged_{0};    // Target errors, logged from completion threads.

  // The socket stays open (only shut down) until the object is destroyed, so request_stop() and late
  // completions never touch a closed or reused descriptor number.
  std::mutex write_mu_;                // Serialises replies on the socket.
  std::atomic<bool> broken_{false};    // No more replies may be written (peer gone, or stopping).

  std::mutex slots_mu_;
  std::condition_variable slots_cv_;
  std::vector<Slot> slots_;             // Fixed size; never reallocated after construction.
  std::vector<Slot*> free_;             // GUARDED_BY(slots_mu_)
  uint32_t inflight_ = 0;               // GUARDED_BY(slots_mu_)
  uint64_t inflight_bytes_ = 0;         // GUARDED_BY(slots_mu_)
  bool stop_requested_ = false;         // GUARDED_BY(slots_mu_)
  BufferPool big_buffers_;              // GUARDED_BY(slots_mu_)
  std::chrono::steady_clock::time_point stop_deadline_;  // GUARDED_BY(slots_mu_)
};

}  // namespace tandem::nbd
