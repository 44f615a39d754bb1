// The ublk frontend: the Linux ublk driver as the Primary's block device (/dev/ublkbN), served through
// io_uring by queue threads of this process.
//
//   /dev/ublkbN --(ublk_drv)--> /dev/ublkcN: one io_uring + thread per hardware queue (ublk_queue.h) --> BlockTarget
//   /dev/ublk-control: ADD_DEV, SET_PARAMS, START_DEV, STOP_DEV, DEL_DEV, ... (ublk_control.h), caller's thread
//
// start(): ADD_DEV (ioctl-encoded opcode first, legacy as fallback), records the device in `record_path`,
// SET_PARAMS (size, 4 KiB blocks, volatile cache + FUA, discard, write-zeroes; ublk_params.h), opens
// /dev/ublkcN, starts the queue threads, START_DEV. stop(): STOP_DEV (the disk goes away; openers see I/O
// errors; the kernel aborts every armed tag), joins the queue threads (bounded), closes /dev/ublkcN, DEL_DEV,
// removes the record.
//
// User recovery (UBLK_F_USER_RECOVERY + _REISSUE): when the serving process dies (kill -9), the kernel notices
// within ~5 s, quiesces the device and requeues the requests the dead process held; /dev/ublkbN stays, its
// I/O waits. A later start() with the same `record_path` finds the device there and takes it back:
// START_USER_RECOVERY (retried while the kernel is still quiescing), new queue threads, END_USER_RECOVERY;
// the waiting requests then complete. recovered() says which way start() went.
//
// Semantics: FLUSH -> IoOp::Flush, FUA -> IoRequest::fua, DISCARD -> Trim, WRITE_ZEROES -> WriteZeroes
// (ublk_request.h). When the target is not writable at start() the device is read-only.
//
// Deadlock rule: control commands and the device node's open/close happen only on the caller's (control)
// thread; queue threads only serve I/O.
//
// Threading: start/stop/open_count/device_path are for one controlling thread at a time (the daemon uses a
// different helper thread for start and stop, never two at once).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "frontend/block_target.h"
#include "frontend/ublk/ublk_control.h"
#include "frontend/ublk/ublk_params.h"
#include "frontend/ublk/ublk_queue.h"

namespace tandem {

struct UblkOptions {
  int dev_id = -1;            // -1: the kernel picks /dev/ublkbN.
  uint16_t nr_hw_queues = 1;  // One thread each; the kernel caps it at the CPU count.
  uint16_t queue_depth = 64;  // Requests in flight per queue (the bound towards the target).
  uint32_t max_io_bytes = 256u << 10;  // Largest request; each tag owns a buffer of this size.
  // Where the device id is recorded for user recovery after a crash; "" disables recovery (a crashed run's
  // device then stays until deleted by hand).
  std::string record_path;
  std::chrono::milliseconds start_timeout{30000};     // START_DEV / END_USER_RECOVERY
  std::chrono::milliseconds recovery_wait{30000};     // until the kernel has quiesced a dead server's device
  std::chrono::milliseconds stop_timeout{15000};      // STOP_DEV, then the queue threads draining
  std::chrono::milliseconds delete_timeout{10000};    // DEL_DEV waits for the last opener of /dev/ublkcN
  // This process runs in a mount namespace of its own (ublk_orphan.h: its copies of mounts of a crashed run's
  // device may be dropped, and init's mount table is the host's view).
  bool private_mount_namespace = false;
};

class UblkFrontend final : public BlockFrontend {
 public:
  // `target` must outlive this object.
  UblkFrontend(BlockTarget& target, std::string resource, UblkOptions options = {});
  ~UblkFrontend() override;  // stop()

  int start(std::string* error) override;
  // Removes the device even when it is in use (openers then see I/O errors); bounded by the timeouts.
  void stop() override;
  // 1 when /dev/ublkbN is mounted, held or opened exclusively (block_device_busy.h), else 0.
  int open_count() const override;
  std::string kind() const override { return "ublk"; }
  std::string device_path() const override;  // "/dev/ublkbN" while running, "" otherwise.

  int dev_id() const { return running_ ? static_cast<int>(dev_id_) : -1; }
  bool recovered() const { return recovered_; }  // start() took back a device a dead process left
  ublk::Encoding encoding() const { return control_.encoding(); }

 private:
  // 1: took the recorded device back; 0: nothing to recover (go add one); negative errno: failed.
  int try_recover(std::string* error);
  int add_device(std::string* error);
  int open_char_device(std::string* error);
  int start_queues(const ublksrv_ctrl_dev_info& info, std::string* error);
  void stop_queues(std::chrono::steady_clock::time_point deadline);
  // Best-effort removal after a failed start (STOP_DEV, queues, DEL_DEV, record).
  void abandon_device();
  bool write_record(std::string* error);
  void remove_record();

  BlockTarget& target_;
  std::string resource_;
  UblkOptions options_;
  ublk::DeviceShape shape_;
  ublk::Control control_;
  UniqueFd char_fd_;
  std::vector<std::unique_ptr<ublk::Queue>> queues_;
  uint32_t dev_id_ = 0;
  bool have_device_ = false;  // dev_id_ names a device we added or took back
  bool running_ = false;
  bool recovered_ = false;
};

// Whether the ublk frontend can work here: /dev/ublk-control exists. For the daemon's automatic choice.
bool ublk_available(std::string* why);

}  // namespace tandem
