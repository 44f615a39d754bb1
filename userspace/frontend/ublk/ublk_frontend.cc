#include "frontend/ublk/ublk_frontend.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "common/log.h"
#include "frontend/block_device_busy.h"
#include "frontend/ublk/ublk_orphan.h"
#include "frontend/ublk/ublk_record.h"

namespace tandem {

namespace {

constexpr auto kNodeWait = std::chrono::seconds(10);  // devtmpfs/udev creating /dev/ublkcN, /dev/ublkbN
constexpr auto kPoll = std::chrono::milliseconds(50);

bool process_alive(int32_t pid) {
  return pid > 0 && ::access(fmt::format("/proc/{}", pid).c_str(), F_OK) == 0;
}

// Waits for a device node to appear (created asynchronously after ADD_DEV / START_DEV).
bool wait_for_node(const std::string& path, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  struct stat st;
  while (::stat(path.c_str(), &st) != 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPoll);
  }
  return true;
}

const char* state_name(uint16_t s) {
  switch (s) {
    case ublk::kStateDead: return "dead";
    case ublk::kStateLive: return "live";
    case ublk::kStateQuiesced: return "quiesced";
  }
  return "unknown";
}

}  // namespace

UblkFrontend::UblkFrontend(BlockTarget& target, std::string resource, UblkOptions options)
    : target_(target), resource_(std::move(resource)), options_(std::move(options)) {}

UblkFrontend::~UblkFrontend() { stop(); }

std::string UblkFrontend::device_path() const {
  return running_ ? fmt::format("/dev/ublkb{}", dev_id_) : std::string();
}

int UblkFrontend::open_count() const {
  if (!running_) return 0;
  std::string why;
  int busy = block_device_busy(device_path(), fmt::format("/sys/block/ublkb{}", dev_id_), &why);
  if (busy < 0) {
    // Cannot tell: say "in use", since the caller would otherwise demote a device someone may be using.
    log_warn("resource {}: busy probe failed ({}); reporting the device as in use", resource_, why);
    return 1;
  }
  return busy;
}

bool UblkFrontend::write_record(std::string* error) {
  if (options_.record_path.empty()) return true;
  ublk::Record r{dev_id_, control_.encoding(), static_cast<int32_t>(::getpid())};
  std::string tmp = options_.record_path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << ublk::format_record(r);
    f.flush();
    if (!f) {
      *error = fmt::format("cannot write {}: {}", tmp, std::strerror(errno));
      return false;
    }
  }
  if (::rename(tmp.c_str(), options_.record_path.c_str()) != 0) {
    *error = fmt::format("cannot rename {} to {}: {}", tmp, options_.record_path, std::strerror(errno));
    return false;
  }
  return true;
}

void UblkFrontend::remove_record() {
  if (!options_.record_path.empty()) ::unlink(options_.record_path.c_str());
}

int UblkFrontend::open_char_device(std::string* error) {
  std::string path = fmt::format("/dev/ublkc{}", dev_id_);
  if (!wait_for_node(path, kNodeWait)) {
    *error = fmt::format("{} did not appear within {} s", path, kNodeWait.count());
    return -ENOENT;
  }
  // The kernel allows one opener; udev probing the new node may hold it for a moment.
  auto deadline = std::chrono::steady_clock::now() + kNodeWait;
  for (;;) {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
      char_fd_.reset(fd);
      return 0;
    }
    int e = errno;
    if (e != EBUSY || std::chrono::steady_clock::now() >= deadline) {
      *error = fmt::format("cannot open {}: {}", path, std::strerror(e));
      return -e;
    }
    std::this_thread::sleep_for(kPoll);
  }
}

int UblkFrontend::start_queues(const ublksrv_ctrl_dev_info& info, std::string* error) {
  for (uint16_t q = 0; q < info.nr_hw_queues; ++q) {
    ublk::QueueConfig qc;
    qc.char_fd = char_fd_.get();
    qc.q_id = q;
    qc.depth = info.queue_depth;
    qc.buffer_bytes = info.max_io_buf_bytes;
    qc.device_bytes = ublk::device_sectors(shape_) * 512;
    qc.encoding = control_.encoding();
    qc.target = &target_;
    qc.name = fmt::format("ublk {} queue {}", resource_, q);
    auto queue = std::make_unique<ublk::Queue>(qc);
    int rc = queue->start(std::chrono::milliseconds(10000), error);
    if (rc == -ETIMEDOUT) (void)queue.release();  // Its thread may still run: never free it under that thread.
    if (rc != 0) return rc;
    queues_.push_back(std::move(queue));
  }
  return 0;
}

void UblkFrontend::stop_queues(std::chrono::steady_clock::time_point deadline) {
  for (auto& q : queues_) {
    bool left = q->join(deadline);
    if (!left || !q->drained()) {
      // A late completion would touch the queue: keep it alive (see ublk_queue.h).
      log_error("resource {}: a ublk queue still has requests with the target after the stop deadline; leaking it",
                resource_);
      (void)q.release();
    }
  }
  queues_.clear();
}

void UblkFrontend::abandon_device() {
  std::string error;
  if (!queues_.empty()) {
    // STOP_DEV on a device that never started only aborts the armed tags, which lets the queues leave.
    if (control_.stop_dev(dev_id_, options_.stop_timeout, &error) != 0) log_warn("resource {}: {}", resource_, error);
    stop_queues(std::chrono::steady_clock::now() + options_.stop_timeout);
  }
  char_fd_.reset();
  if (control_.del_dev(dev_id_, options_.delete_timeout, &error) != 0) log_warn("resource {}: {}", resource_, error);
  remove_record();
  have_device_ = false;
}

int UblkFrontend::add_device(std::string* error) {
  ublksrv_ctrl_dev_info info =
      ublk::make_dev_info(shape_, options_.dev_id, ublk::Encoding::Ioctl, static_cast<int32_t>(::getpid()));
  int rc = control_.add_dev(&info, error);
  if (rc != 0) return rc;
  dev_id_ = info.dev_id;
  have_device_ = true;
  // Recorded at once: a crash from here on leaves a device the next start can find.
  if (!write_record(error)) {
    abandon_device();
    return -EIO;
  }
  if ((info.flags & ublk::kFlagUserRecovery) == 0)
    log_warn("resource {}: the kernel refused user recovery for /dev/ublkb{}: a crash of this daemon will stop "
             "the device", resource_, dev_id_);
  if (info.queue_depth != shape_.queue_depth || info.nr_hw_queues != shape_.nr_hw_queues)
    log_info("resource {}: the kernel gave {} queue(s) of depth {}", resource_, info.nr_hw_queues, info.queue_depth);
  rc = control_.set_params(dev_id_, ublk::make_params(shape_, info.max_io_buf_bytes), error);
  if (rc == 0) rc = open_char_device(error);
  if (rc == 0) rc = start_queues(info, error);
  if (rc == 0) rc = control_.start_dev(dev_id_, static_cast<int32_t>(::getpid()), options_.start_timeout, error);
  if (rc != 0) {
    abandon_device();
    return rc;
  }
  return 0;
}

int UblkFrontend::try_recover(std::string* error) {
  if (options_.record_path.empty()) return 0;
  std::ifstream f(options_.record_path);
  if (!f) return 0;
  std::stringstream text;
  text << f.rdbuf();
  ublk::Record rec;
  std::string why;
  if (!ublk::parse_record(text.str(), &rec, &why)) {
    log_warn("resource {}: ignoring {}: {}", resource_, options_.record_path, why);
    remove_record();
    return 0;
  }
  control_.set_encoding(rec.encoding);
  dev_id_ = rec.dev_id;
  ublksrv_ctrl_dev_info info;
  int rc = control_.get_dev_info(dev_id_, &info, &why);
  if (rc != 0 && rc != -ENODEV) {
    // Cannot tell whether the device is there: keep the record, so a later attempt can still take it back.
    *error = fmt::format("cannot look up /dev/ublkb{} recorded in {}: {}", dev_id_, options_.record_path, why);
    return rc;
  }
  if (rc == -ENODEV) {
    log_info("resource {}: /dev/ublkb{} recorded by pid {} is gone ({}); adding a new device", resource_, dev_id_,
             rec.pid, why);
    remove_record();
    return 0;
  }
  log_info("resource {}: found /dev/ublkb{} of pid {} (state {}, server pid {})", resource_, dev_id_, rec.pid,
           state_name(info.state), info.ublksrv_pid);
  if (info.state == ublk::kStateLive && info.ublksrv_pid != ::getpid() && process_alive(info.ublksrv_pid)) {
    *error = fmt::format("/dev/ublkb{} (recorded in {}) is served by running process {}", dev_id_,
                         options_.record_path, info.ublksrv_pid);
    return -EBUSY;
  }
  if (info.state == ublk::kStateDead && ublk_disk_still_mounted(0, fmt::format("/dev/ublkb{}", dev_id_),
                                                                options_.private_mount_namespace, &why)) {
    // DEL_DEV would wait in the kernel until it is unmounted (ublk_orphan.h): refuse instead.
    *error = fmt::format("/dev/ublkb{} of a crashed run is stopped but not deleted: {}; unmount it first", dev_id_,
                         why);
    return -EBUSY;
  }
  have_device_ = true;
  if (info.state == ublk::kStateDead || (info.flags & ublk::kFlagUserRecovery) == 0) {
    log_warn("resource {}: /dev/ublkb{} cannot be taken back ({}); deleting it", resource_, dev_id_,
             info.state == ublk::kStateDead ? "stopped" : "added without user recovery");
    abandon_device();
    return 0;
  }
  // LIVE with a dead server (the kernel has not noticed yet) or QUIESCED: take it back.
  auto deadline = std::chrono::steady_clock::now() + options_.recovery_wait;
  for (;;) {
    rc = control_.start_user_recovery(dev_id_, &why);
    if (rc != -EBUSY || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (rc != 0) {
    *error = fmt::format("cannot take back /dev/ublkb{} left by pid {}: {}", dev_id_, rec.pid, why);
    have_device_ = false;  // Leave it for the operator: its openers' I/O is still waiting.
    return rc;
  }
  // The device keeps the shape it was added with; the buffers must match it.
  shape_.nr_hw_queues = info.nr_hw_queues;
  shape_.queue_depth = info.queue_depth;
  shape_.max_io_bytes = info.max_io_buf_bytes;
  ublk_params params;
  if (control_.get_params(dev_id_, &params, &why) == 0 && params.basic.dev_sectors != ublk::device_sectors(shape_))
    log_warn("resource {}: /dev/ublkb{} has {} sectors, the target {}", resource_, dev_id_,
             params.basic.dev_sectors, ublk::device_sectors(shape_));
  rc = open_char_device(error);
  if (rc == 0) rc = start_queues(info, error);
  if (rc == 0)
    rc = control_.end_user_recovery(dev_id_, static_cast<int32_t>(::getpid()), options_.start_timeout, error);
  if (rc == 0 && !write_record(error)) rc = -EIO;
  if (rc != 0) {
    abandon_device();
    return rc;
  }
  return 1;
}

int UblkFrontend::start(std::string* error) {
  if (running_) {
    *error = fmt::format("resource {}: the ublk frontend is already running on {}", resource_, device_path());
    return -EALREADY;
  }
  shape_ = ublk::DeviceShape{};
  shape_.size_bytes = target_.size_bytes();
  shape_.read_only = !target_.writable();
  shape_.nr_hw_queues = options_.nr_hw_queues;
  shape_.queue_depth = options_.queue_depth;
  shape_.max_io_bytes = options_.max_io_bytes;
  std::string why = ublk::check_shape(shape_);
  if (!why.empty()) {
    *error = fmt::format("resource {}: {}", resource_, why);
    return -EINVAL;
  }
  recovered_ = false;
  int rc = control_.open(&why);
  if (rc != 0) {
    *error = fmt::format("resource {}: {}", resource_, why);
    return rc;
  }
  rc = try_recover(&why);
  if (rc < 0) {
    *error = fmt::format("resource {}: {}", resource_, why);
    return rc;
  }
  recovered_ = rc == 1;
  if (!recovered_) {
    rc = add_device(&why);
    if (rc != 0) {
      *error = fmt::format("resource {}: {}", resource_, why);
      return rc;
    }
  }
  std::string node = fmt::format("/dev/ublkb{}", dev_id_);
  if (!wait_for_node(node, kNodeWait)) log_warn("resource {}: {} has not appeared yet", resource_, node);
  running_ = true;
  log_info("resource {}: ublk frontend on {} ({} bytes, {} queue(s) x {} tags, {} KiB requests, {} opcodes){}",
           resource_, node, ublk::device_sectors(shape_) * 512, shape_.nr_hw_queues, shape_.queue_depth,
           shape_.max_io_bytes >> 10, ublk::encoding_name(control_.encoding()),
           recovered_ ? ", taken back from a crashed run" : "");
  return 0;
}

void UblkFrontend::stop() {
  if (!running_) return;
  running_ = false;
  auto deadline = std::chrono::steady_clock::now() + options_.stop_timeout;
  std::string error;
  int rc = control_.stop_dev(dev_id_, options_.stop_timeout, &error);
  if (rc != 0) log_error("resource {}: {}", resource_, error);
  stop_queues(deadline);
  char_fd_.reset();
  rc = control_.del_dev(dev_id_, options_.delete_timeout, &error);
  if (rc != 0)
    log_error("resource {}: {}; the kernel deletes /dev/ublkb{} when its last opener closes it", resource_, error,
              dev_id_);
  remove_record();
  have_device_ = false;
  log_info("resource {}: ublk frontend on /dev/ublkb{} stopped", resource_, dev_id_);
}

bool ublk_available(std::string* why) {
  if (::access(ublk::kControlPath, F_OK) == 0) {
    *why = std::string(ublk::kControlPath) + " exists";
    return true;
  }
  *why = std::string("no ") + ublk::kControlPath;
  return false;
}

}  // namespace tandem
