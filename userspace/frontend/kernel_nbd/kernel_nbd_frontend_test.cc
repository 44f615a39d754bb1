// What the kernel NBD frontend relies on, without a kernel: nbd::Connection in transmission-only mode (the
// kernel skips the handshake) carries FUA, flush and trim to the target with their meaning intact, and
// start() fails with a clear message on a machine without the nbd driver. The kernel side itself is tested
// in the VM (tests/vm/test-kernel-nbd.sh).
#include <sys/socket.h>

#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/unique_fd.h"
#include "frontend/kernel_nbd/kernel_nbd_frontend.h"
#include "frontend/memory_target.h"
#include "frontend/nbd_export/nbd_codec.h"
#include "frontend/nbd_export/nbd_connection.h"
#include "frontend/nbd_export/nbd_socket_io.h"

namespace tandem {
namespace {

// Records what reached the target, then lets MemoryTarget do the work.
class RecordingTarget final : public BlockTarget {
 public:
  struct Seen {
    IoOp op;
    bool fua;
    uint64_t offset;
    uint32_t length;
  };
  explicit RecordingTarget(uint64_t size_bytes) : mem_(size_bytes) {}
  uint64_t size_bytes() const override { return mem_.size_bytes(); }
  bool writable() const override { return mem_.writable(); }
  void submit(IoRequest* req) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.push_back({req->op, req->fua, req->offset, req->length});
    }
    mem_.submit(req);
  }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  MemoryTarget& mem() { return mem_; }

 private:
  MemoryTarget mem_;
  std::mutex mu_;
  std::vector<Seen> seen_;
};

// The kernel's side of the socketpair: raw transmission-phase requests, no greeting expected.
class KernelSide {
 public:
  explicit KernelSide(int fd) : fd_(fd) {}
  void send(uint16_t type, uint16_t flags, uint64_t cookie, uint64_t offset, uint32_t length,
            const std::vector<uint8_t>& payload = {}) {
    uint8_t header[nbd::kRequestBytes];
    nbd::encode_request(header, {flags, type, cookie, offset, length});
    ASSERT_EQ(nbd::send_all(fd_, header, sizeof header), 0);
    if (!payload.empty()) {
      ASSERT_EQ(nbd::send_all(fd_, payload.data(), payload.size()), 0);
    }
  }
  nbd::SimpleReply reply(std::vector<uint8_t>* data = nullptr, uint32_t length = 0) {
    uint8_t raw[nbd::kSimpleReplyBytes];
    nbd::SimpleReply r;
    EXPECT_EQ(nbd::recv_all(fd_, raw, sizeof raw), 0);
    EXPECT_TRUE(nbd::decode_simple_reply(raw, &r));
    if (data != nullptr && r.error == 0) {
      data->resize(length);
      EXPECT_EQ(nbd::recv_all(fd_, data->data(), length), 0);
    }
    return r;
  }

 private:
  int fd_;
};

TEST(KernelNbdTransmission, FuaFlushTrimReachTheTargetWithoutHandshake) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd kernel_end(sv[1]);
  RecordingTarget target(1 << 20);
  nbd::ConnectionConfig config;
  config.skip_handshake = true;
  config.send_timeout_ms = 0;
  nbd::Connection conn(UniqueFd(sv[0]), &target, &config, "test kernel");
  std::thread server([&] { conn.run(); });

  KernelSide k(kernel_end.get());
  std::vector<uint8_t> block(4096, 0xab);
  k.send(nbd::kCmdWrite, nbd::kCmdFlagFua, 1, 8192, 4096, block);
  EXPECT_EQ(k.reply().cookie, 1u);
  k.send(nbd::kCmdWrite, 0, 2, 0, 4096, block);
  EXPECT_EQ(k.reply().cookie, 2u);
  k.send(nbd::kCmdFlush, 0, 3, 0, 0);
  EXPECT_EQ(k.reply().error, 0u);
  k.send(nbd::kCmdTrim, 0, 4, 0, 4096);
  EXPECT_EQ(k.reply().error, 0u);
  std::vector<uint8_t> data;
  k.send(nbd::kCmdRead, 0, 5, 0, 8192 + 4096);
  nbd::SimpleReply r = k.reply(&data, 8192 + 4096);
  EXPECT_EQ(r.error, 0u);
  EXPECT_EQ(data[0], 0);        // trimmed
  EXPECT_EQ(data[8192], 0xab);  // FUA write
  k.send(nbd::kCmdDisc, 0, 6, 0, 0);
  server.join();
  EXPECT_TRUE(conn.drained());

  std::vector<RecordingTarget::Seen> seen = target.seen();
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0].op, IoOp::Write);
  EXPECT_TRUE(seen[0].fua);
  EXPECT_EQ(seen[0].offset, 8192u);
  EXPECT_EQ(seen[1].op, IoOp::Write);
  EXPECT_FALSE(seen[1].fua);
  EXPECT_EQ(seen[2].op, IoOp::Flush);
  EXPECT_EQ(seen[3].op, IoOp::Trim);
  EXPECT_EQ(seen[3].length, 4096u);
  EXPECT_EQ(seen[4].op, IoOp::Read);
  EXPECT_EQ(target.mem().flushes(), 1);
}

TEST(KernelNbdFrontend, StartFailsClearlyWithoutTheDriver) {
  std::string why;
  if (kernel_nbd_available(&why)) GTEST_SKIP() << "this kernel has nbd (" << why << "); tested in the VM";
  EXPECT_NE(why.find("nbd"), std::string::npos) << why;
  MemoryTarget target(1 << 20);
  KernelNbdFrontend frontend(target, "r0");
  std::string error;
  EXPECT_LT(frontend.start(&error), 0);
  EXPECT_NE(error.find("r0"), std::string::npos) << error;
  EXPECT_NE(error.find("nbd"), std::string::npos) << error;
  EXPECT_EQ(frontend.device_path(), "");
  EXPECT_EQ(frontend.open_count(), 0);
  EXPECT_EQ(frontend.kind(), "kernel-nbd");
  frontend.stop();  // Harmless when not running.
}

}  // namespace
}  // namespace tandem
