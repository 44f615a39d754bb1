#include "frontend/ublk/ublk_control.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/log.h"

namespace tandem::ublk {

namespace {
// Commands that return at once in the kernel (ADD_DEV, SET_PARAMS, GET_*) still get a bound.
constexpr std::chrono::milliseconds kQuickTimeout{10000};
constexpr std::chrono::milliseconds kCancelGrace{2000};
}  // namespace

Control::~Control() {
  if (ring_ok_) io_uring_queue_exit(&ring_);
}

int Control::open(std::string* error) {
  if (ring_ok_) {  // Reopened by a later start(): drop the previous ring first.
    io_uring_queue_exit(&ring_);
    ring_ok_ = false;
  }
  fd_.reset();
  int fd = ::open(kControlPath, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    *error = e == ENOENT ? fmt::format("{} does not exist (this kernel has no ublk driver: CONFIG_BLK_DEV_UBLK, "
                                       "or modprobe ublk_drv)", kControlPath)
                         : fmt::format("cannot open {}: {}", kControlPath, std::strerror(e));
    return -e;
  }
  fd_.reset(fd);
  // SQE128: the kernel reads the 32-byte ublksrv_ctrl_cmd from the SQE's command area and refuses control
  // commands from rings with 64-byte SQEs.
  int rc = io_uring_queue_init(8, &ring_, IORING_SETUP_SQE128);
  if (rc < 0) {
    *error = fmt::format("io_uring with 128-byte SQEs for {}: {}", kControlPath, std::strerror(-rc));
    fd_.reset();
    return rc;
  }
  ring_ok_ = true;
  return 0;
}

int Control::wait_for(uint64_t user_data, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return -ETIME;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    __kernel_timespec ts{ns / 1000000000, ns % 1000000000};
    io_uring_cqe* cqe = nullptr;
    int rc = io_uring_wait_cqe_timeout(&ring_, &cqe, &ts);
    if (rc == -EINTR) continue;
    if (rc < 0) return rc;  // -ETIME
    uint64_t ud = cqe->user_data;
    int res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    if (ud == user_data) return res == -ETIME ? -ETIMEDOUT : res;
    // A late completion of a command that timed out earlier, or of a cancel request: not ours.
  }
}

int Control::run(CtrlCmd cmd, uint32_t dev_id, void* buf, uint16_t len, uint64_t data0,
                 std::chrono::milliseconds timeout, std::string* error) {
  auto fail = [&](int rc, std::string_view what) {
    *error = fmt::format("ublk {} ({} opcode) for device {}: {}", ctrl_name(cmd), encoding_name(enc_),
                         static_cast<int32_t>(dev_id), what.empty() ? std::strerror(-rc) : what);
    return rc;
  };
  if (!ring_ok_) return fail(-EBADF, "the control ring is not open");
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) return fail(-EBUSY, "no free submission entry");
  // liburing 2.3 has no io_uring_prep_uring_cmd: a plain prep, then the command area by hand. cmd_op shares
  // its bytes with `off`, so it is set after the prep; __pad1 must be 0.
  io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd_.get(), nullptr, 0, 0);
  std::memset(&sqe->addr3, 0, 80);  // The SQE128 command area: 16 bytes in the SQE plus the 64 after it.
  sqe->cmd_op = ctrl_opcode(cmd, enc_);
  sqe->__pad1 = 0;
  sqe->flags |= IOSQE_ASYNC;
  ublksrv_ctrl_cmd c;
  std::memset(&c, 0, sizeof c);
  c.dev_id = dev_id;
  c.queue_id = 0xffff;  // "not a queue command"; ADD_DEV insists on it.
  c.len = len;
  c.addr = reinterpret_cast<uintptr_t>(buf);
  c.data[0] = data0;
  std::memcpy(sqe->cmd, &c, sizeof c);
  uint64_t ud = next_user_data_++;
  sqe->user_data = ud;
  int rc = io_uring_submit(&ring_);
  if (rc < 0) return fail(rc, "");
  rc = wait_for(ud, timeout);
  if (rc == -ETIME) {
    // Still in the kernel. Cancelling interrupts interruptible waits (START_DEV waiting for fetches);
    // `buf` must stay valid until the command is really gone, so wait for it a little longer.
    if (io_uring_sqe* c2 = io_uring_get_sqe(&ring_)) {
      io_uring_prep_cancel64(c2, ud, 0);
      c2->user_data = 0;
      io_uring_submit(&ring_);
    }
    int late = wait_for(ud, kCancelGrace);
    if (late == -ETIME) {
      log_error("ublk {} for device {} is stuck in the kernel after {} ms; leaving it there", ctrl_name(cmd),
                static_cast<int32_t>(dev_id), timeout.count());
    }
    return fail(-ETIMEDOUT, fmt::format("no answer within {} ms", timeout.count()));
  }
  if (rc < 0) return fail(rc, "");
  return rc;
}

int Control::add_dev(ublksrv_ctrl_dev_info* info, std::string* error) {
  ublksrv_ctrl_dev_info want = *info;
  enc_ = Encoding::Ioctl;
  info->flags = want.flags | kFlagCmdIoctlEncode;
  std::string ioctl_error;
  int rc = run(CtrlCmd::AddDev, info->dev_id, info, sizeof *info, 0, kQuickTimeout, &ioctl_error);
  if (rc == 0) {
    enc_ = encoding_for(info->flags, Encoding::Ioctl);
    log_info("ublk opcodes: {} (the kernel accepted the ioctl-encoded ADD_DEV {:#x}{})", encoding_name(enc_),
             ctrl_opcode(CtrlCmd::AddDev, Encoding::Ioctl),
             enc_ == Encoding::Ioctl ? " and kept UBLK_F_CMD_IOCTL_ENCODE: Linux 6.4 or later"
                                     : " but cleared UBLK_F_CMD_IOCTL_ENCODE");
    return 0;
  }
  const int ioctl_rc = rc;
  if (!add_dev_fallback_to_legacy(rc)) {
    *error = ioctl_error;
    return rc;
  }
  // Linux 6.1-6.3 do not know ioctl-encoded opcodes (nor the flag): the legacy numbers, without the flag.
  *info = want;
  info->flags = want.flags & ~kFlagCmdIoctlEncode;
  enc_ = Encoding::Legacy;
  rc = run(CtrlCmd::AddDev, info->dev_id, info, sizeof *info, 0, kQuickTimeout, error);
  if (rc != 0) {
    *error += fmt::format(" (ioctl-encoded: {})", ioctl_error);
    return rc;
  }
  log_info("ublk opcodes: legacy (the kernel answered the ioctl-encoded ADD_DEV with {}: it predates Linux 6.4)",
           std::strerror(-ioctl_rc));
  return rc;
}

int Control::get_dev_info(uint32_t dev_id, ublksrv_ctrl_dev_info* info, std::string* error) {
  std::memset(info, 0, sizeof *info);
  return run(CtrlCmd::GetDevInfo, dev_id, info, sizeof *info, 0, kQuickTimeout, error);
}

int Control::set_params(uint32_t dev_id, const ublk_params& params, std::string* error) {
  ublk_params copy = params;
  return run(CtrlCmd::SetParams, dev_id, &copy, sizeof copy, 0, kQuickTimeout, error);
}

int Control::get_params(uint32_t dev_id, ublk_params* params, std::string* error) {
  std::memset(params, 0, sizeof *params);
  params->len = sizeof *params;
  params->types = UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_DISCARD;
  return run(CtrlCmd::GetParams, dev_id, params, sizeof *params, 0, kQuickTimeout, error);
}

int Control::start_dev(uint32_t dev_id, int32_t pid, std::chrono::milliseconds timeout, std::string* error) {
  return run(CtrlCmd::StartDev, dev_id, nullptr, 0, static_cast<uint64_t>(pid), timeout, error);
}

int Control::stop_dev(uint32_t dev_id, std::chrono::milliseconds timeout, std::string* error) {
  return run(CtrlCmd::StopDev, dev_id, nullptr, 0, 0, timeout, error);
}

int Control::del_dev(uint32_t dev_id, std::chrono::milliseconds timeout, std::string* error) {
  return run(CtrlCmd::DelDev, dev_id, nullptr, 0, 0, timeout, error);
}

int Control::start_user_recovery(uint32_t dev_id, std::string* error) {
  return run(CtrlCmd::StartUserRecovery, dev_id, nullptr, 0, 0, kQuickTimeout, error);
}

int Control::end_user_recovery(uint32_t dev_id, int32_t pid, std::chrono::milliseconds timeout,
                               std::string* error) {
  return run(CtrlCmd::EndUserRecovery, dev_id, nullptr, 0, static_cast<uint64_t>(pid), timeout, error);
}

}  // namespace tandem::ublk
