// A FUSE filesystem holding one regular file, "data", whose bytes are a BlockTarget.
//
//   read      -> IoOp::Read          write -> IoOp::Write       fsync/fdatasync -> IoOp::Flush
//   fallocate(PUNCH_HOLE|KEEP_SIZE) -> IoOp::Trim      fallocate(ZERO_RANGE) -> IoOp::WriteZeroes
//   close (FUSE FLUSH) does not flush the target: closing a file promises no durability, fsync does.
//
// The file is opened with FOPEN_DIRECT_IO and the writeback cache is off, so the kernel keeps no page cache for
// it: the loop device on top has its own cache, and two caches would both hide writes from the replication
// layer and double the memory.
//
// Threading: libfuse's multi-threaded loop runs on a thread owned by this object; its workers submit to the
// target, and the target may complete on any thread, which replies to the kernel from there (allowed by
// libfuse 3). At most `queue_depth` target requests are in flight; each owns a preallocated slot with a
// `max_io_bytes` buffer, so nothing is allocated per request. A worker that finds no free slot waits for one,
// which is the backpressure towards the kernel. start/stop/stats are for one controlling thread.
//
// Deadlock rule: the workers serve the loop device stacked on this file, so no worker may ever do I/O on that
// loop device, and they run with PR_SET_IO_FLUSHER so memory reclaim in them never waits on writeback through
// the device they serve.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "frontend/block_target.h"

namespace tandem {

struct FuseFileServerOptions {
  std::string mount_point;  // Absolute path of an existing, empty, unmounted directory.
  std::string fsname;       // Mount source shown by mount(8), e.g. "tandem:r0".
  uint32_t queue_depth = 16;           // Target requests in flight (preallocated slots).
  uint32_t max_io_bytes = 1u << 20;    // max_read/max_write asked of the kernel; slot buffer size.
  uint32_t idle_threads_max = 4;       // libfuse worker threads kept when idle.
};

struct FuseFileStats {
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint64_t flushes = 0;
  uint64_t trims = 0;
  uint64_t write_zeroes = 0;
  uint64_t errors = 0;                   // Requests answered with an error (target or ours).
  uint32_t max_read_bytes_seen = 0;      // Largest READ the kernel sent.
  uint32_t max_write_bytes_seen = 0;     // Largest WRITE the kernel sent.
  uint32_t max_write_bytes_negotiated = 0;
  uint32_t in_flight_max_seen = 0;       // Peak slots in use.
  bool io_flusher = false;               // PR_SET_IO_FLUSHER is in effect on the workers.
};

class FuseFileServer {
 public:
  static constexpr const char* kFileName = "data";

  // `target` must outlive this object.
  FuseFileServer(BlockTarget& target, FuseFileServerOptions options);
  ~FuseFileServer();  // stop() with the default timeout.
  FuseFileServer(const FuseFileServer&) = delete;
  FuseFileServer& operator=(const FuseFileServer&) = delete;

  // Mounts and starts serving; returns once the kernel's INIT has been answered (bounded wait), so the file can
  // be opened right away. Returns 0 or a negative errno with *error set; on failure nothing is left mounted.
  int start(std::string* error);

  // Refuses new requests (they fail with EIO), unmounts (forcing the connection closed if something still holds
  // the file), and waits up to `timeout` for the loop thread and for in-flight target requests. If the target
  // does not complete in time, the session and its slots are deliberately leaked (logged): freeing them would
  // let a late completion write into freed memory.
  void stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000));

  bool running() const { return state_ != nullptr; }
  std::string file_path() const;  // mount_point + "/data"
  FuseFileStats stats() const;

 // Opaque; public only so the libfuse callbacks in the .cc (free functions) can name it.
  struct State;

 private:
  BlockTarget& target_;
  FuseFileServerOptions options_;
  State* state_ = nullptr;  // Raw on purpose: see stop().
};

}  // namespace tandem
