// The ublk control path: commands on /dev/ublk-control through an io_uring with 128-byte SQEs (the kernel
// refuses control commands from a 64-byte SQE ring). liburing 2.3 has no uring_cmd helpers, so the SQE is
// filled by hand (ublk_control.cc).
//
// Every command is sent with IOSQE_ASYNC, so the kernel runs it on an io-wq worker and the caller waits with
// a bound: START_DEV, STOP_DEV and DEL_DEV can block in the kernel (for queue threads, for in-flight I/O, for
// the last opener of /dev/ublkcN). On a timeout the command is cancelled (which interrupts the interruptible
// waits) and -ETIMEDOUT returned; an uninterruptible one stays in the kernel until it finishes.
//
// Threading: one object per control thread. Deadlock rule (never broken here): no control command may be sent
// from a thread that serves the device's I/O; START_DEV, STOP_DEV and DEL_DEV wait for those threads.
#pragma once

#include <liburing.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "common/unique_fd.h"
#include "frontend/ublk/ublk_abi.h"
#include "frontend/ublk/ublk_opcodes.h"

namespace tandem::ublk {

inline constexpr const char* kControlPath = "/dev/ublk-control";

class Control {
 public:
  Control() = default;
  ~Control();
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;

  // Opens /dev/ublk-control and the ring. 0, or a negative errno with *error saying what is missing.
  int open(std::string* error);

  Encoding encoding() const { return enc_; }
  void set_encoding(Encoding enc) { enc_ = enc; }

  // ADD_DEV: ioctl-encoded with kFlagCmdIoctlEncode first, then, if the kernel does not know that opcode
  // (add_dev_fallback_to_legacy), legacy without the flag; the choice is logged. On success *info holds
  // what the kernel made of the request (dev_id, capped queues, rounded buffer size, masked flags) and the
  // encoding for this device is set (encoding_for()).
  int add_dev(ublksrv_ctrl_dev_info* info, std::string* error);
  int get_dev_info(uint32_t dev_id, ublksrv_ctrl_dev_info* info, std::string* error);
  int set_params(uint32_t dev_id, const ublk_params& params, std::string* error);
  int get_params(uint32_t dev_id, ublk_params* params, std::string* error);
  // START_DEV waits in the kernel until every tag of every queue has been fetched, then creates /dev/ublkbN
  // and reads its partition table through the queue threads.
  int start_dev(uint32_t dev_id, int32_t pid, std::chrono::milliseconds timeout, std::string* error);
  int stop_dev(uint32_t dev_id, std::chrono::milliseconds timeout, std::string* error);
  int del_dev(uint32_t dev_id, std::chrono::milliseconds timeout, std::string* error);
  // -EBUSY until the kernel has noticed the old server is dead and quiesced the device (up to ~5 s after it
  // died, the kernel's monitor period) and /dev/ublkcN is closed.
  int start_user_recovery(uint32_t dev_id, std::string* error);
  // Waits in the kernel until every tag has been fetched again, then lets the queued requests through.
  int end_user_recovery(uint32_t dev_id, int32_t pid, std::chrono::milliseconds timeout, std::string* error);

 private:
  int run(CtrlCmd cmd, uint32_t dev_id, void* buf, uint16_t len, uint64_t data0, std::chrono::milliseconds timeout,
          std::string* error);
  int wait_for(uint64_t user_data, std::chrono::milliseconds timeout);

  UniqueFd fd_;
  io_uring ring_{};
  bool ring_ok_ = false;
  Encoding enc_ = Encoding::Legacy;
  uint64_t next_user_data_ = 1;
};

}  // namespace tandem::ublk
