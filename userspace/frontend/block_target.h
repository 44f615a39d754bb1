// The narrow interface between device frontends (NBD export, FUSE+loop, later ublk and kernel NBD) and the
// replicated resource behind them.
//
// Ownership: the frontend owns every IoRequest and its data buffer; both must stay valid and untouched
// until `complete` has been called. Frontends preallocate a bounded pool of IoRequests (their queue depth),
// so nothing is allocated per request.
// Threading: BlockTarget::submit is thread-safe and never blocks for I/O (it may block briefly when the
// target's bounded submission queue is full). `complete` may be called on any thread, exactly once.
#pragma once

#include <cstdint>
#include <string>

namespace tandem {

enum class IoOp : uint8_t { Read, Write, Flush, Trim, WriteZeroes };

struct IoRequest {
  IoOp op = IoOp::Read;
  bool fua = false;        // Write/WriteZeroes: durable before completion (Force Unit Access).
  uint64_t offset = 0;     // Bytes; Read/Write/Trim/WriteZeroes.
  uint32_t length = 0;     // Bytes.
  uint8_t* data = nullptr; // Read: destination; Write: source. Unused otherwise.

  // Set by the frontend; called once by the target with 0 or a negative errno (-EIO, -EROFS, -EINVAL, ...).
  void (*on_complete)(IoRequest* req, int result) = nullptr;
  void* frontend_ctx = nullptr;  // Frontend's own pointer, untouched by the target.

  uint64_t target_ctx = 0;  // Scratch for the target; frontends must not touch it.

  void complete(int result) { on_complete(this, result); }
};

class BlockTarget {
 public:
  virtual ~BlockTarget() = default;
  virtual uint64_t size_bytes() const = 0;
  // False when the node is not Primary: frontends report read-only and writes fail with -EROFS.
  virtual bool writable() const = 0;
  virtual void submit(IoRequest* req) = 0;
};

// A kernel-visible or socket-visible device built on a BlockTarget.
class BlockFrontend {
 public:
  virtual ~BlockFrontend() = default;
  // Starts serving; returns 0 or a negative errno with `error` filled in.
  virtual int start(std::string* error) = 0;
  // Stops serving: refuses new requests, waits (bounded) for in-flight ones, releases the device.
  virtual void stop() = 0;
  // Like stop(), but refuses with -EBUSY (and *error naming the user) while the device is in use.
  virtual int try_stop(std::string* error) {
    if (open_count() > 0) {
      *error = device_path() + " is in use (mounted or opened)";
      return -16;  // -EBUSY, without pulling <cerrno> into every frontend user
    }
    stop();
    return 0;
  }
  // Number of openers (for `secondary`, which must fail while the device is in use).
  virtual int open_count() const = 0;
  virtual std::string kind() const = 0;         // "nbd-export", "fuse-loop", ...
  virtual std::string device_path() const = 0;  // "/dev/loop3", socket path, ...
};

}  // namespace tandem
