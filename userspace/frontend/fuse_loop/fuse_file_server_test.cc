// Exercises the FUSE file directly (no loop device): needs root and /dev/fuse, skipped otherwise.
#include "frontend/fuse_loop/fuse_file_server.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "frontend/memory_target.h"

namespace tandem {
namespace {

constexpr uint64_t kSizeBytes = 8u << 20;

// Completes every request later, from its own thread, like the replicated target does.
class DeferredTarget final : public BlockTarget {
 public:
  explicit DeferredTarget(MemoryTarget& inner) : inner_(inner), thread_([this] { run(); }) {}
  ~DeferredTarget() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      cv_.notify_all();
    }
    thread_.join();
  }
  uint64_t size_bytes() const override { return inner_.size_bytes(); }
  bool writable() const override { return inner_.writable(); }
  void submit(IoRequest* req) override {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(req);
    cv_.notify_all();
  }

 private:
  void run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return done_ || !queue_.empty(); });
      if (queue_.empty()) return;
      IoRequest* req = queue_.front();
      queue_.pop_front();
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::microseconds(200));  // Let others pile up behind it.
      inner_.submit(req);  // Completes synchronously, on this thread.
      lock.lock();
    }
  }
  MemoryTarget& inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<IoRequest*> queue_;
  bool done_ = false;
  std::thread thread_;
};

class FuseFileServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount FUSE";
    if (::access("/dev/fuse", R_OK | W_OK) != 0) GTEST_SKIP() << "no usable /dev/fuse";
    char tmpl[] = "/tmp/tandem-fuse-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    server_.reset();
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }
  void start(BlockTarget& target, uint32_t queue_depth = 4) {
    FuseFileServerOptions o;
    o.mount_point = dir_;
    o.fsname = "tandem:test";
    o.queue_depth = queue_depth;
    server_ = std::make_unique<FuseFileServer>(target, o);
    std::string error;
    ASSERT_EQ(server_->start(&error), 0) << error;
  }
  UniqueFd open_file(int flags) { return UniqueFd(::open(server_->file_path().c_str(), flags | O_CLOEXEC)); }

  std::string dir_;
  std::unique_ptr<FuseFileServer> server_;
};

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 9));
  return v;
}

TEST_F(FuseFileServerTest, ListsOneFileOfTheTargetSize) {
  MemoryTarget mem(kSizeBytes);
  start(mem);
  struct stat st;
  ASSERT_EQ(::stat(server_->file_path().c_str(), &st), 0) << std::strerror(errno);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), kSizeBytes);
  DIR* d = ::opendir(dir_.c_str());
  ASSERT_NE(d, nullptr);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) names.push_back(e->d_name);
  ::closedir(d);
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "data"}));
  EXPECT_EQ(::truncate(server_->file_path().c_str(), 4096), -1);
  EXPECT_EQ(errno, EPERM);
  EXPECT_EQ(::open((dir_ + "/other").c_str(), O_RDWR | O_CREAT, 0600), -1);
}

TEST_F(FuseFileServerTest, WriteReadFsyncRoundTrip) {
  MemoryTarget mem(kSizeBytes);
  start(mem);
  UniqueFd fd = open_file(O_RDWR);
  ASSERT_TRUE(fd.valid()) << std::strerror(errno);
  std::vector<uint8_t> data = pattern(3u << 20, 5);  // Larger than one FUSE request.
  const off_t off = 12345;
  ASSERT_EQ(::pwrite(fd.get(), data.data(), data.size(), off), static_cast<ssize_t>(data.size()));
  std::vector<uint8_t> snap = mem.snapshot();
  EXPECT_EQ(std::memcmp(&snap[off], data.data(), data.size()), 0) << "write did not reach the target";

  std::vector<uint8_t> back(data.size());
  ASSERT_EQ(::pread(fd.get(), back.data(), back.size(), off), static_cast<ssize_t>(back.size()));
  EXPECT_EQ(back, data);

  int before = mem.flushes();
  ASSERT_EQ(::fsync(fd.get()), 0);
  ASSERT_EQ(::fdatasync(fd.get()), 0);
  EXPECT_EQ(mem.flushes(), before + 2);

  // Reads stop at the end of the device; writes may not pass it.
  char tail[8192];
  EXPECT_EQ(::pread(fd.get(), tail, sizeof tail, kSizeBytes - 4096), 4096);
  EXPECT_EQ(::pread(fd.get(), tail, sizeof tail, kSizeBytes), 0);
  EXPECT_EQ(::pwrite(fd.get(), tail, sizeof tail, kSizeBytes - 4096), -1);
  EXPECT_EQ(errno, ENOSPC);

  FuseFileStats s = server_->stats();
  EXPECT_GE(s.writes, 3u);
  EXPECT_EQ(s.flushes, 2u);
  EXPECT_LE(s.max_write_bytes_seen, s.max_write_bytes_negotiated);
  EXPECT_GT(s.max_write_bytes_negotiated, 128u << 10);
}

TEST_F(FuseFileServerTest, FallocateMapsToTrimAndWriteZeroes) {
  MemoryTarget mem(kSizeBytes);
  start(mem);
  UniqueFd fd = open_file(O_RDWR);
  ASSERT_TRUE(fd.valid()) << std::strerror(errno);
  std::vector<uint8_t> ones(1u << 20, 0xff);
  ASSERT_EQ(::pwrite(fd.get(), ones.data(), ones.size(), 0), static_cast<ssize_t>(ones.size()));
  ASSERT_EQ(::fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 8192), 0)
      << std::strerror(errno);
  ASSERT_EQ(::fallocate(fd.get(), FALLOC_FL_ZERO_RANGE, 65536, 4096), 0) << std::strerror(errno);
  ASSERT_EQ(::fallocate(fd.get(), 0, 0, 4096), 0) << "preallocation inside the device is a no-op";
  EXPECT_EQ(::fallocate(fd.get(), 0, kSizeBytes - 4096, 8192), -1);
  std::vector<uint8_t> snap = mem.snapshot();
  EXPECT_EQ(snap[4095], 0xff);
  EXPECT_EQ(snap[4096], 0);
  EXPECT_EQ(snap[4096 + 8191], 0);
  EXPECT_EQ(snap[4096 + 8192], 0xff);
  EXPECT_EQ(snap[65536], 0);
  EXPECT_EQ(snap[65536 + 4095], 0);
  EXPECT_EQ(snap[65536 + 4096], 0xff);
  FuseFileStats s = server_->stats();
  EXPECT_EQ(s.trims, 1u);
  EXPECT_EQ(s.write_zeroes, 1u);
}

TEST_F(FuseFileServerTest, ReadOnlyTargetRefusesWriters) {
  MemoryTarget mem(kSizeBytes);
  mem.set_writable(false);
  start(mem);
  EXPECT_FALSE(open_file(O_RDWR).valid());
  EXPECT_EQ(errno, EROFS);
  UniqueFd fd = open_file(O_RDONLY);
  ASSERT_TRUE(fd.valid()) << std::strerror(errno);
  char buf[4096];
  EXPECT_EQ(::pread(fd.get(), buf, sizeof buf, 0), 4096);
}

TEST_F(FuseFileServerTest, AsynchronousCompletionsFromAnotherThread) {
  MemoryTarget mem(kSizeBytes);
  DeferredTarget deferred(mem);
  start(deferred, /*queue_depth=*/2);  // Fewer slots than writers: workers must wait for slots.
  constexpr int kThreads = 6;
  constexpr size_t kChunk = 256u << 10;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      UniqueFd fd = open_file(O_RDWR);
      if (!fd.valid()) {
        failures[t]++;
        return;
      }
      std::vector<uint8_t> data = pattern(kChunk, static_cast<uint8_t>(t));
      std::vector<uint8_t> back(kChunk);
      for (int round = 0; round < 4; ++round) {
        off_t off = static_cast<off_t>((t * 4 + round) * kChunk);
        if (::pwrite(fd.get(), data.data(), kChunk, off) != static_cast<ssize_t>(kChunk)) failures[t]++;
        if (::pread(fd.get(), back.data(), kChunk, off) != static_cast<ssize_t>(kChunk) || back != data) {
          failures[t]++;
        }
      }
      if (::fsync(fd.get()) != 0) failures[t]++;
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
  FuseFileStats s = server_->stats();
  EXPECT_LE(s.in_flight_max_seen, 2u);
  EXPECT_EQ(s.errors, 0u);
  EXPECT_EQ(mem.flushes(), kThreads);
}

TEST_F(FuseFileServerTest, StopUnmountsAndRestarts) {
  MemoryTarget mem(kSizeBytes);
  start(mem);
  server_->stop();
  EXPECT_FALSE(server_->running());
  struct stat st;
  EXPECT_NE(::stat(server_->file_path().c_str(), &st), 0) << "file still visible after stop";
  std::string error;
  ASSERT_EQ(server_->start(&error), 0) << error;
  EXPECT_EQ(::stat(server_->file_path().c_str(), &st), 0);
}

}  // namespace
}  // namespace tandem
