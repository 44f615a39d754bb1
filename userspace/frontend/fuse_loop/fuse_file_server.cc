#define FUSE_USE_VERSION 312
#include "frontend/fuse_loop/fuse_file_server.h"

#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <linux/falloc.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/check.h"
#include "common/log.h"

#ifndef PR_SET_IO_FLUSHER
#define PR_SET_IO_FLUSHER 57
#define PR_GET_IO_FLUSHER 58
#endif

namespace tandem {
namespace {

constexpr fuse_ino_t kRootIno = FUSE_ROOT_ID;
constexpr fuse_ino_t kFileIno = 2;
constexpr double kAttrTimeoutSec = 1.0;
constexpr uint32_t kStatfsBlockBytes = 4096;
// Trim/WriteZeroes lengths are u32 in IoRequest; fallocate ranges are u64, so large ones go in pieces.
constexpr uint64_t kFallocateChunkBytes = 1ull << 30;
constexpr auto kInitTimeout = std::chrono::milliseconds(5000);
constexpr auto kUnmountRetryStep = std::chrono::milliseconds(20);
constexpr int kUnmountRetries = 50;

// libfuse reports through fuse_log; route it into our log so failures land in the daemon log file.
void fuse_log_to_tandem(enum fuse_log_level level, const char* fmt, va_list ap) {
  char buf[1024];
  vsnprintf(buf, sizeof buf, fmt, ap);
  std::string_view text(buf);
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (level <= FUSE_LOG_ERR) {
    log_error("libfuse: {}", text);
  } else if (level <= FUSE_LOG_NOTICE) {
    log_warn("libfuse: {}", text);
  } else {
    log_debug("libfuse: {}", text);
  }
}

void install_fuse_log_once() {
  static std::once_flag once;
  std::call_once(once, [] { fuse_set_log_func(fuse_log_to_tandem); });
}

// fuse_opt splits on commas and honours backslash escapes.
std::string escape_fuse_opt(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ',' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

void atomic_max(std::atomic<uint32_t>& a, uint32_t v) {
  uint32_t cur = a.load(std::memory_order_relaxed);
  while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

}  // namespace

struct Slot;

struct FuseFileServer::State {
  State(BlockTarget& t, const FuseFileServerOptions& o) : target(t), options(o) {}

  BlockTarget& target;
  FuseFileServerOptions options;
  fuse_session* se = nullptr;
  std::thread loop_thread;

  std::mutex mu;
  std::condition_variable cv;  // Slot freed, synchronous request done, INIT seen, loop exited.
  std::vector<std::unique_ptr<Slot>> slots;  // GUARDED_BY(mu) for free_slots; slots themselves fixed after start.
  std::vector<Slot*> free_slots;             // GUARDED_BY(mu)
  uint32_t in_flight = 0;                    // GUARDED_BY(mu)
  bool stopping = false;                     // GUARDED_BY(mu)
  bool initialized = false;                  // GUARDED_BY(mu)
  bool loop_exited = false;                  // GUARDED_BY(mu)
  int loop_result = 0;                       // GUARDED_BY(mu)

  std::atomic<uint64_t> reads{0}, writes{0}, flushes{0}, trims{0}, write_zeroes{0}, errors{0};
  std::atomic<uint32_t> max_read_seen{0}, max_write_seen{0}, max_write_negotiated{0}, in_flight_max{0};
  std::atomic<bool> io_flusher{false};

  Slot* acquire();
  void release(Slot* s);
  void reply_err(fuse_req_t req, int err) {
    if (err != 0) errors.fetch_add(1, std::memory_order_relaxed);
    fuse_reply_err(req, err);
  }
};

constexpr size_t kPageBytes = 4096;

struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }
};

struct Slot {
  IoRequest io;
  fuse_req_t req = nullptr;
  FuseFileServer::State* state = nullptr;
  // max_io_bytes, page-aligned so the backing store can take its O_DIRECT path (unaligned buffers go through
  // the page cache: one more copy); uninitialised so untouched pages cost no memory.
  std::unique_ptr<uint8_t, FreeDeleter> buffer;
  bool sync = false;  // The submitting worker waits for completion itself (fallocate pieces).
  bool done = false;  // GUARDED_BY(state->mu), only when sync.
  int result = 0;     // GUARDED_BY(state->mu), only when sync.
};

Slot* FuseFileServer::State::acquire() {
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return stopping || !free_slots.empty(); });
  if (stopping) return nullptr;
  Slot* s = free_slots.back();
  free_slots.pop_back();
  ++in_flight;
  atomic_max(in_flight_max, in_flight);
  s->sync = false;
  s->done = false;
  s->result = 0;
  return s;
}

void FuseFileServer::State::release(Slot* s) {
  std::lock_guard<std::mutex> lock(mu);
  TANDEM_CHECK(in_flight > 0);
  s->req = nullptr;
  free_slots.push_back(s);
  --in_flight;
  cv.notify_all();
}

namespace {

using State = FuseFileServer::State;

State* state_of(fuse_req_t req) { return static_cast<State*>(fuse_req_userdata(req)); }

void on_io_complete(IoRequest* io, int result) {
  Slot* s = static_cast<Slot*>(io->frontend_ctx);
  State* st = s->state;
  // The contract is 0 or a negative errno; anything else means the target is broken.
  TANDEM_CHECK(result <= 0);
  if (s->sync) {
    std::lock_guard<std::mutex> lock(st->mu);
    s->done = true;
    s->result = result;
    st->cv.notify_all();
    return;  // The waiting worker owns the slot again; do not touch it after the unlock.
  }
  fuse_req_t req = s->req;
  if (result < 0) {
    st->reply_err(req, -result);
  } else {
    switch (io->op) {
      case IoOp::Read: fuse_reply_buf(req, reinterpret_cast<const char*>(io->data), io->length); break;
      case IoOp::Write: fuse_reply_write(req, io->length); break;
      default: fuse_reply_err(req, 0); break;
    }
  }
  st->release(s);
}

// Submits a prepared slot and waits for it on this worker thread.
int submit_and_wait(State* st, Slot* s) {
  {
    std::lock_guard<std::mutex> lock(st->mu);
    s->sync = true;
    s->done = false;
  }
  st->target.submit(&s->io);
  std::unique_lock<std::mutex> lock(st->mu);
  st->cv.wait(lock, [&] { return s->done; });
  return s->result;
}

struct stat file_attr(State* st) {
  struct stat a {};
  a.st_ino = kFileIno;
  a.st_mode = S_IFREG | (st->target.writable() ? 0600 : 0400);
  a.st_nlink = 1;
  a.st_uid = ::getuid();
  a.st_gid = ::getgid();
  a.st_size = static_cast<off_t>(st->target.size_bytes());
  a.st_blksize = kStatfsBlockBytes;
  a.st_blocks = static_cast<blkcnt_t>(st->target.size_bytes() / 512);
  return a;
}

struct stat root_attr() {
  struct stat a {};
  a.st_ino = kRootIno;
  a.st_mode = S_IFDIR | 0700;
  a.st_nlink = 2;
  a.st_uid = ::getuid();
  a.st_gid = ::getgid();
  return a;
}

void op_init(void* userdata, fuse_conn_info* conn) {
  State* st = static_cast<State*>(userdata);
  const uint32_t io_bytes = st->options.max_io_bytes;
  conn->max_write = io_bytes;  // libfuse lowers it to its receive buffer if needed; our slots are big enough.
  conn->max_read = io_bytes;   // Must equal the max_read mount option.
  // No writeback cache: the kernel would acknowledge writes before we see them and merge them behind our back.
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  // Splice saves a copy but ties buffer lifetime to the worker; we hand buffers to the target asynchronously.
  conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
  // Async direct I/O lets the loop device keep several requests in flight on one file.
  if (conn->capable & FUSE_CAP_ASYNC_DIO) conn->want |= FUSE_CAP_ASYNC_DIO;
  conn->max_background = std::max<uint32_t>(st->options.queue_depth, 1);
  conn->congestion_threshold = std::max<uint32_t>(st->options.queue_depth * 3 / 4, 1);
  st->max_write_negotiated = std::min<uint32_t>(conn->max_write, io_bytes);
  // init runs on a worker; the flag was set on the loop thread and inherited by every worker it spawned.
  int flusher = ::prctl(PR_GET_IO_FLUSHER, 0, 0, 0, 0);
  st->io_flusher = flusher == 1;
  std::lock_guard<std::mutex> lock(st->mu);
  st->initialized = true;
  st->cv.notify_all();
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  State* st = state_of(req);
  if (parent != kRootIno || std::strcmp(name, FuseFileServer::kFileName) != 0) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  fuse_entry_param e{};
  e.ino = kFileIno;
  e.generation = 1;
  e.attr = file_attr(st);
  e.attr_timeout = kAttrTimeoutSec;
  e.entry_timeout = kAttrTimeoutSec;
  fuse_reply_entry(req, &e);
}

void op_forget(fuse_req_t req, fuse_ino_t, uint64_t) { fuse_reply_none(req); }

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  if (ino == kRootIno) {
    struct stat a = root_attr();
    fuse_reply_attr(req, &a, kAttrTimeoutSec);
  } else if (ino == kFileIno) {
    struct stat a = file_attr(state_of(req));
    fuse_reply_attr(req, &a, kAttrTimeoutSec);
  } else {
    fuse_reply_err(req, ENOENT);
  }
}

void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
  State* st = state_of(req);
  if (ino != kFileIno) {
    fuse_reply_err(req, EPERM);
    return;
  }
  // The size is the replicated device's size and ownership is fixed; only time updates are harmlessly ignored.
  if ((to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) != 0 ||
      ((to_set & FUSE_SET_ATTR_SIZE) != 0 && static_cast<uint64_t>(attr->st_size) != st->target.size_bytes())) {
    fuse_reply_err(req, EPERM);
    return;
  }
  struct stat a = file_attr(st);
  fuse_reply_attr(req, &a, kAttrTimeoutSec);
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  State* st = state_of(req);
  if (ino == kRootIno) {
    fuse_reply_err(req, EISDIR);
    return;
  }
  if (ino != kFileIno) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  if ((fi->flags & O_ACCMODE) != O_RDONLY && !st->target.writable()) {
    fuse_reply_err(req, EROFS);
    return;
  }
  fi->direct_io = 1;   // No FUSE page cache: the loop device (or the caller) caches, once.
  fi->keep_cache = 0;
  fi->noflush = 1;     // close() carries no durability promise; skip the FUSE FLUSH round trip.
  fuse_reply_open(req, fi);
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  State* st = state_of(req);
  const uint64_t file_bytes = st->target.size_bytes();
  if (ino != kFileIno) {
    st->reply_err(req, EISDIR);
    return;
  }
  if (off < 0) {
    st->reply_err(req, EINVAL);
    return;
  }
  if (static_cast<uint64_t>(off) >= file_bytes || size == 0) {
    fuse_reply_buf(req, nullptr, 0);  // EOF.
    return;
  }
  atomic_max(st->max_read_seen, static_cast<uint32_t>(std::min<size_t>(size, UINT32_MAX)));
  uint64_t len = std::min<uint64_t>({size, file_bytes - static_cast<uint64_t>(off), st->options.max_io_bytes});
  Slot* s = st->acquire();
  if (s == nullptr) {
    st->reply_err(req, EIO);
    return;
  }
  st->reads.fetch_add(1, std::memory_order_relaxed);
  s->req = req;
  s->io.op = IoOp::Read;
  s->io.fua = false;
  s->io.offset = static_cast<uint64_t>(off);
  s->io.length = static_cast<uint32_t>(len);
  s->io.data = s->buffer.get();
  st->target.submit(&s->io);
}

void op_write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off, fuse_file_info*) {
  State* st = state_of(req);
  const uint64_t file_bytes = st->target.size_bytes();
  if (ino != kFileIno) {
    st->reply_err(req, EISDIR);
    return;
  }
  if (off < 0) {
    st->reply_err(req, EINVAL);
    return;
  }
  atomic_max(st->max_write_seen, static_cast<uint32_t>(std::min<size_t>(size, UINT32_MAX)));
  // A device does not grow: refuse anything reaching past the end rather than writing part of it.
  if (static_cast<uint64_t>(off) > file_bytes || size > file_bytes - static_cast<uint64_t>(off)) {
    st->reply_err(req, ENOSPC);
    return;
  }
  if (size == 0) {
    fuse_reply_write(req, 0);
    return;
  }
  // The kernel honours the negotiated max_write; should it not, answer a short write, which it retries.
  size_t len = std::min<size_t>(size, st->options.max_io_bytes);
  Slot* s = st->acquire();
  if (s == nullptr) {
    st->reply_err(req, EIO);
    return;
  }
  st->writes.fetch_add(1, std::memory_order_relaxed);
  // `buf` belongs to the worker's receive buffer and is reused once we return, so copy it into the slot.
  std::memcpy(s->buffer.get(), buf, len);
  s->req = req;
  s->io.op = IoOp::Write;
  s->io.fua = false;
  s->io.offset = static_cast<uint64_t>(off);
  s->io.length = static_cast<uint32_t>(len);
  s->io.data = s->buffer.get();
  st->target.submit(&s->io);
}

void op_fsync(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info*) {
  State* st = state_of(req);
  Slot* s = st->acquire();
  if (s == nullptr) {
    st->reply_err(req, EIO);
    return;
  }
  st->flushes.fetch_add(1, std::memory_order_relaxed);
  s->req = req;
  s->io.op = IoOp::Flush;
  s->io.fua = false;
  s->io.offset = 0;
  s->io.length = 0;
  s->io.data = nullptr;
  st->target.submit(&s->io);
}

void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }
void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, fuse_file_info*) {
  State* st = state_of(req);
  const uint64_t file_bytes = st->target.size_bytes();
  if (ino != kFileIno) {
    st->reply_err(req, EISDIR);
    return;
  }
  if (offset < 0 || length <= 0) {
    st->reply_err(req, EINVAL);
    return;
  }
  const bool keep_size = (mode & FALLOC_FL_KEEP_SIZE) != 0;
  const int kind = mode & ~FALLOC_FL_KEEP_SIZE;
  IoOp op;
  if (kind == FALLOC_FL_PUNCH_HOLE) {
    op = IoOp::Trim;
  } else if (kind == FALLOC_FL_ZERO_RANGE) {
    op = IoOp::WriteZeroes;
  } else if (kind == 0) {
    // Plain preallocation: every byte of the device already exists. Growing it is impossible.
    bool inside = static_cast<uint64_t>(offset) + static_cast<uint64_t>(length) <= file_bytes;
    if (inside || keep_size) {
      fuse_reply_err(req, 0);
    } else {
      st->reply_err(req, ENOSPC);
    }
    return;
  } else {
    st->reply_err(req, EOPNOTSUPP);
    return;
  }
  uint64_t begin = static_cast<uint64_t>(offset);
  uint64_t end = begin + static_cast<uint64_t>(length);
  if (end < begin) {
    st->reply_err(req, EINVAL);
    return;
  }
  if (end > file_bytes) {
    if (!keep_size) {
      st->reply_err(req, ENOSPC);  // Would extend the file.
      return;
    }
    end = file_bytes;  // With KEEP_SIZE the part beyond EOF has nothing to zero.
  }
  if (begin >= end) {
    fuse_reply_err(req, 0);
    return;
  }
  Slot* s = st->acquire();
  if (s == nullptr) {
    st->reply_err(req, EIO);
    return;
  }
  (op == IoOp::Trim ? st->trims : st->write_zeroes).fetch_add(1, std::memory_order_relaxed);
  int result = 0;
  for (uint64_t pos = begin; pos < end && result == 0;) {
    uint64_t piece = std::min(end - pos, kFallocateChunkBytes);
    s->io.op = op;
    s->io.fua = false;
    s->io.offset = pos;
    s->io.length = static_cast<uint32_t>(piece);
    s->io.data = nullptr;
    result = submit_and_wait(st, s);
    pos += piece;
  }
  st->release(s);
  st->reply_err(req, -result);
}

void op_opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (ino != kRootIno) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  fuse_reply_open(req, fi);
}

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  if (ino != kRootIno) {
    fuse_reply_err(req, ENOTDIR);
    return;
  }
  struct Entry {
    const char* name;
    fuse_ino_t ino;
    mode_t mode;
  };
  const Entry entries[] = {{".", kRootIno, S_IFDIR}, {"..", kRootIno, S_IFDIR},
                           {FuseFileServer::kFileName, kFileIno, S_IFREG}};
  char buf[512];
  size_t used = 0;
  for (off_t i = off; i < static_cast<off_t>(std::size(entries)); ++i) {
    struct stat a {};
    a.st_ino = entries[i].ino;
    a.st_mode = entries[i].mode;
    size_t room = std::min(sizeof buf, size) - used;
    size_t need = fuse_add_direntry(req, buf + used, room, entries[i].name, &a, i + 1);
    if (need > room) break;
    used += need;
  }
  fuse_reply_buf(req, buf, used);
}

void op_releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void op_statfs(fuse_req_t req, fuse_ino_t) {
  State* st = state_of(req);
  struct statvfs v {};
  v.f_bsize = kStatfsBlockBytes;
  v.f_frsize = kStatfsBlockBytes;
  v.f_blocks = st->target.size_bytes() / kStatfsBlockBytes;
  v.f_files = 2;
  v.f_namemax = 255;
  fuse_reply_statfs(req, &v);
}

fuse_lowlevel_ops make_ops() {
  fuse_lowlevel_ops ops{};
  ops.init = op_init;
  ops.lookup = op_lookup;
  ops.forget = op_forget;
  ops.getattr = op_getattr;
  ops.setattr = op_setattr;
  ops.open = op_open;
  ops.read = op_read;
  ops.write = op_write;
  ops.flush = op_flush;
  ops.release = op_release;
  ops.fsync = op_fsync;
  ops.opendir = op_opendir;
  ops.readdir = op_readdir;
  ops.releasedir = op_releasedir;
  ops.statfs = op_statfs;
  ops.fallocate = op_fallocate;
  return ops;
}

void run_loop(State* st) {
  // Inherited by every worker libfuse spawns from this thread (task flags are copied on clone).
  if (::prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0) != 0) {
    log_warn("FUSE {}: PR_SET_IO_FLUSHER failed ({}); memory reclaim in workers may wait on the device they "
             "serve", st->options.mount_point, std::strerror(errno));
  }
  fuse_loop_config* cfg = fuse_loop_cfg_create();
  int rc = -ENOMEM;
  if (cfg != nullptr) {
    // Enough workers that metadata requests are still read while every slot is busy and some workers wait.
    fuse_loop_cfg_set_max_threads(cfg, st->options.queue_depth + 4);
    fuse_loop_cfg_set_idle_threads(cfg, st->options.idle_threads_max);
    fuse_loop_cfg_set_clone_fd(cfg, 0);
    rc = fuse_session_loop_mt(st->se, cfg);
    fuse_loop_cfg_destroy(cfg);
  }
  std::lock_guard<std::mutex> lock(st->mu);
  st->loop_exited = true;
  st->loop_result = rc;
  st->cv.notify_all();
}

// Unmounts `mp`. A normal unmount succeeds once nobody holds the file; if it stays busy, MNT_FORCE aborts the
// FUSE connection (every pending and future request fails) and MNT_DETACH removes it from the namespace.
void unmount_fuse(const std::string& mp) {
  for (int i = 0; i < kUnmountRetries; ++i) {
    if (::umount2(mp.c_str(), UMOUNT_NOFOLLOW) == 0) return;
    if (errno == EINVAL || errno == ENOENT) return;  // Not mounted (any more).
    if (errno != EBUSY) break;
    std::this_thread::sleep_for(kUnmountRetryStep);
  }
  log_warn("FUSE {}: still busy, aborting the connection and detaching the mount", mp);
  if (::umount2(mp.c_str(), MNT_FORCE | UMOUNT_NOFOLLOW) == 0) return;
  if (::umount2(mp.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL) {
    log_error("FUSE {}: lazy unmount failed: {}", mp, std::strerror(errno));
  }
}

}  // namespace

FuseFileServer::FuseFileServer(BlockTarget& target, FuseFileServerOptions options)
    : target_(target), options_(std::move(options)) {}

FuseFileServer::~FuseFileServer() { stop(); }

std::string FuseFileServer::file_path() const { return options_.mount_point + "/" + kFileName; }

int FuseFileServer::start(std::string* error) {
  if (state_ != nullptr) {
    *error = "FUSE " + options_.mount_point + ": already running";
    return -EALREADY;
  }
  if (options_.queue_depth == 0 || options_.max_io_bytes < 4096) {
    *error = "FUSE " + options_.mount_point + ": queue_depth must be > 0 and max_io_bytes >= 4096";
    return -EINVAL;
  }
  install_fuse_log_once();
  auto st = std::make_unique<State>(target_, options_);
  st->slots.reserve(options_.queue_depth);
  for (uint32_t i = 0; i < options_.queue_depth; ++i) {
    auto s = std::make_unique<Slot>();
    s->state = st.get();
    size_t bytes = (size_t(options_.max_io_bytes) + kPageBytes - 1) / kPageBytes * kPageBytes;
    s->buffer.reset(static_cast<uint8_t*>(std::aligned_alloc(kPageBytes, bytes)));
    if (!s->buffer) {
      *error = "FUSE " + options_.mount_point + ": out of memory for the request buffers";
      return -ENOMEM;
    }
    s->io.on_complete = on_io_complete;
    s->io.frontend_ctx = s.get();
    st->free_slots.push_back(s.get());
    st->slots.push_back(std::move(s));
  }

  std::string opts = "fsname=" + escape_fuse_opt(options_.fsname) +
                     ",subtype=tandem,default_permissions,max_read=" + std::to_string(options_.max_io_bytes);
  std::string arg0 = "tandem", arg1 = "-o";
  char* argv[] = {arg0.data(), arg1.data(), opts.data(), nullptr};
  fuse_args args = FUSE_ARGS_INIT(3, argv);
  fuse_lowlevel_ops ops = make_ops();
  st->se = fuse_session_new(&args, &ops, sizeof ops, st.get());
  fuse_opt_free_args(&args);
  if (st->se == nullptr) {
    *error = "FUSE " + options_.mount_point + ": fuse_session_new failed (options '" + opts + "'; see log)";
    return -EINVAL;
  }
  if (fuse_session_mount(st->se, options_.mount_point.c_str()) != 0) {
    *error = "FUSE " + options_.mount_point + ": mount failed (see log; is /dev/fuse usable and the directory "
             "empty and unmounted?)";
    fuse_session_destroy(st->se);
    return -EIO;
  }
  State* raw = st.get();
  st->loop_thread = std::thread([raw] { run_loop(raw); });

  // The kernel sent INIT at mount; wait until a worker answered it so callers can open the file at once.
  bool ok;
  {
    std::unique_lock<std::mutex> lock(st->mu);
    ok = st->cv.wait_for(lock, kInitTimeout, [&] { return st->initialized || st->loop_exited; }) &&
         st->initialized;
  }
  state_ = st.release();
  if (!ok) {
    *error = "FUSE " + options_.mount_point + ": the kernel's INIT was not answered within " +
             std::to_string(kInitTimeout.count()) + " ms";
    stop();
    return -ETIMEDOUT;
  }
  log_info("FUSE {}: serving {} ({} bytes, max_write {} bytes, queue depth {}, io_flusher {})", options_.fsname,
           file_path(), target_.size_bytes(), state_->max_write_negotiated.load(), options_.queue_depth,
           state_->io_flusher.load() ? "on" : "off");
  return 0;
}

void FuseFileServer::stop(std::chrono::milliseconds timeout) {
  State* st = state_;
  if (st == nullptr) return;
  state_ = nullptr;
  const std::string& mp = options_.mount_point;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  {
    std::lock_guard<std::mutex> lock(st->mu);
    st->stopping = true;  // Workers waiting for a slot fail their request with EIO and return.
    st->cv.notify_all();
  }
  // Unmounting makes the workers' reads of /dev/fuse fail with ENODEV, which ends fuse_session_loop_mt.
  unmount_fuse(mp);
  bool exited;
  {
    std::unique_lock<std::mutex> lock(st->mu);
    exited = st->cv.wait_until(lock, deadline, [&] { return st->loop_exited; });
  }
  if (!exited) {
    fuse_session_exit(st->se);
    ::umount2(mp.c_str(), MNT_FORCE | UMOUNT_NOFOLLOW);
    ::umount2(mp.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    std::unique_lock<std::mutex> lock(st->mu);
    exited = st->cv.wait_for(lock, std::chrono::milliseconds(1000), [&] { return st->loop_exited; });
  }
  if (!exited) {
    log_error("FUSE {}: session loop did not exit within {} ms; leaking it rather than freeing memory a worker "
              "still uses", mp, timeout.count());
    st->loop_thread.detach();
    return;
  }
  st->loop_thread.join();
  bool drained;
  {
    std::unique_lock<std::mutex> lock(st->mu);
    drained = st->cv.wait_until(lock, deadline, [&] { return st->in_flight == 0; });
  }
  if (!drained) {
    log_error("FUSE {}: {} target requests still in flight after {} ms; leaking the session and its buffers so "
              "their late completions stay safe", mp, st->in_flight, timeout.count());
    return;
  }
  fuse_session_unmount(st->se);  // Closes /dev/fuse; the mount itself is already gone.
  fuse_session_destroy(st->se);
  log_info("FUSE {}: stopped (reads {}, writes {}, flushes {}, errors {})", options_.fsname, st->reads.load(),
           st->writes.load(), st->flushes.load(), st->errors.load());
  delete st;
}

FuseFileStats FuseFileServer::stats() const {
  FuseFileStats s;
  const State* st = state_;
  if (st == nullptr) return s;
  s.reads = st->reads.load();
  s.writes = st->writes.load();
  s.flushes = st->flushes.load();
  s.trims = st->trims.load();
  s.write_zeroes = st->write_zeroes.load();
  s.errors = st->errors.load();
  s.max_read_bytes_seen = st->max_read_seen.load();
  s.max_write_bytes_seen = st->max_write_seen.load();
  s.max_write_bytes_negotiated = st->max_write_negotiated.load();
  s.in_flight_max_seen = st->in_flight_max.load();
  s.io_flusher = st->io_flusher.load();
  return s;
}

}  // namespace tandem
