// Socket-level tests: NbdExport against a MemoryTarget, with the client side spoken by hand through the codec.
#include "frontend/nbd_export/nbd_export.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <thread>

#include "common/byte_order.h"
#include "frontend/memory_target.h"
#include "frontend/nbd_export/nbd_codec.h"
#include "frontend/nbd_export/nbd_socket_io.h"

namespace tandem {
namespace {

using namespace nbd;

constexpr uint64_t kSize = 1 << 20;

// Records what reaches the target, then forwards to a MemoryTarget.
class RecordingTarget final : public BlockTarget {
 public:
  explicit RecordingTarget(uint64_t size) : mem(size) {}
  uint64_t size_bytes() const override { return mem.size_bytes(); }
  bool writable() const override { return mem.writable(); }
  void submit(IoRequest* req) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      ops.push_back({req->op, req->fua, req->offset, req->length});
    }
    mem.submit(req);
  }
  struct Op {
    IoOp op;
    bool fua;
    uint64_t offset;
    uint32_t length;
  };
  std::vector<Op> take() {
    std::lock_guard<std::mutex> lock(mu);
    return std::exchange(ops, {});
  }
  MemoryTarget mem;
  std::mutex mu;
  std::vector<Op> ops;
};

// Holds every request until the test releases it, so completion order is chosen by the test.
class HeldTarget final : public BlockTarget {
 public:
  explicit HeldTarget(uint64_t size) : mem(size) {}
  uint64_t size_bytes() const override { return mem.size_bytes(); }
  bool writable() const override { return true; }
  void submit(IoRequest* req) override {
    std::lock_guard<std::mutex> lock(mu);
    held.push_back(req);
    cv.notify_all();
  }
  bool wait_held(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(5), [&] { return held.size() >= n; });
  }
  IoRequest* take_back() {
    std::lock_guard<std::mutex> lock(mu);
    IoRequest* r = held.back();
    held.pop_back();
    return r;
  }
  MemoryTarget mem;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<IoRequest*> held;
};

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tandem-nbd-test-XXXXXX";
    const char* p = ::mkdtemp(tmpl);
    EXPECT_NE(p, nullptr);
    path = p ? p : "/tmp";
  }
  ~TempDir() {
    std::string cmd = "rm -rf '" + path + "'";
    [[maybe_unused]] int rc = std::system(cmd.c_str());
  }
  std::string path;
};

// A minimal hand-written NBD client. Every read has a 5 s timeout so a broken server fails the test
// instead of hanging it.
class Client {
 public:
  explicit Client(const std::string& path) {
    fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    connected_ = ::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    set_recv_timeout(fd_.get(), 5000);
  }
  bool connected() const { return connected_; }
  int fd() const { return fd_.get(); }

  // Reads the greeting and sends client flags.
  void greet(uint32_t client_flags = kClientFlagFixedNewstyle | kClientFlagNoZeroes) {
    uint8_t g[kGreetingBytes];
    ASSERT_EQ(recv_all(fd(), g, sizeof g), 0);
    uint16_t flags = 0;
    ASSERT_TRUE(decode_greeting(g, &flags));
    EXPECT_EQ(flags, kFlagFixedNewstyle | kFlagNoZeroes);
    uint8_t f[4];
    encode_client_flags(f, client_flags);
    ASSERT_EQ(send_all(fd(), f, 4), 0);
  }

  void send_option(uint32_t option, const std::vector<uint8_t>& data) {
    uint8_t h[kOptionHeaderBytes];
    encode_option_header(h, {option, uint32_t(data.size())});
    ASSERT_EQ(send_all(fd(), h, sizeof h), 0);
    if (!data.empty()) {
      ASSERT_EQ(send_all(fd(), data.data(), data.size()), 0);
    }
  }

  // Returns false on EOF/timeout.
  bool read_option_reply(OptionReplyHeader* h, std::vector<uint8_t>* data) {
    uint8_t buf[kOptionReplyHeaderBytes];
    if (recv_all(fd(), buf, sizeof buf) != 0) return false;
    EXPECT_TRUE(decode_option_reply_header(buf, h));
    data->resize(h->length_bytes);
    return recv_all(fd(), data->data(), data->size()) == 0;
  }

  // GO (or INFO) for `name`; fills size and flags from NBD_INFO_EXPORT. Returns the final reply type.
  uint32_t go(const std::string& name, uint32_t option = kOptGo, std::vector<uint16_t> infos = {}) {
    std::vector<uint8_t> payload;
    encode_info_request(&payload, {name, infos});
    send_option(option, payload);
    for (;;) {
      OptionReplyHeader h;
      std::vector<uint8_t> data;
      if (!read_option_reply(&h, &data)) return 0;
      EXPECT_EQ(h.option, option);
      if (h.type != kRepInfo) return h.type;
      infos_seen.push_back(data);
      uint16_t type = uint16_t(data[0] << 8 | data[1]);
      if (type == kInfoExport) {
        EXPECT_EQ(data.size(), kInfoExportBytes);
        size = get_be64(data.data() + 2);
        tx_flags = get_be16(data.data() + 10);
      }
    }
  }

  void connect_go(const std::string& name = "") {
    greet();
    ASSERT_EQ(go(name), kRepAck);
  }

  void request(uint16_t type, uint64_t cookie, uint64_t offset, uint32_t length, uint16_t flags = 0,
               const uint8_t* payload = nullptr) {
    uint8_t buf[kRequestBytes];
    Request r;
    r.type = type;
    r.cookie = cookie;
    r.offset = offset;
    r.length_bytes = length;
    r.flags = flags;
    encode_request(buf, r);
    ASSERT_EQ(send_all(fd(), buf, sizeof buf), 0);
    if (payload) {
      ASSERT_EQ(send_all(fd(), payload, length), 0);
    }
  }

  // Reads one simple reply; `data_bytes` of payload follow when the reply is a successful read.
  bool reply(SimpleReply* r, std::vector<uint8_t>* data = nullptr, uint32_t data_bytes = 0) {
    uint8_t buf[kSimpleReplyBytes];
    if (recv_all(fd(), buf, sizeof buf) != 0) return false;
    EXPECT_TRUE(decode_simple_reply(buf, r));
    if (data && r->error == 0) {
      data->resize(data_bytes);
      return recv_all(fd(), data->data(), data_bytes) == 0;
    }
    return true;
  }

  // Round trip of one command, returns the NBD error.
  uint32_t command(uint16_t type, uint64_t offset, uint32_t length, uint16_t flags = 0,
                   const uint8_t* payload = nullptr, std::vector<uint8_t>* out = nullptr) {
    uint64_t cookie = next_cookie_++;
    request(type, cookie, offset, length, flags, payload);
    SimpleReply r;
    EXPECT_TRUE(reply(&r, out, length));
    EXPECT_EQ(r.cookie, cookie);
    return r.error;
  }

  // True when the server closed the connection (EOF within the timeout).
  bool closed_by_server() {
    uint8_t b;
    ssize_t n = ::recv(fd(), &b, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  uint64_t size = 0;
  uint16_t tx_flags = 0;
  std::vector<std::vector<uint8_t>> infos_seen;

 private:
  UniqueFd fd_;
  bool connected_ = false;
  uint64_t next_cookie_ = 1;
};

class NbdExportTest : public ::testing::Test {
 protected:
  void start(BlockTarget* target, NbdExportOptions opts = {}) {
    opts.socket_path = dir.path + "/r0.sock";
    if (opts.export_name.empty()) opts.export_name = "r0";
    exp = std::make_unique<NbdExport>(target, opts);
    std::string error;
    ASSERT_EQ(exp->start(&error), 0) << error;
  }
  std::string path() const { return dir.path + "/r0.sock"; }

  TempDir dir;
  RecordingTarget target{kSize};
  std::unique_ptr<NbdExport> exp;
};

bool wait_open_count(NbdExport* e, int n) {
  for (int i = 0; i < 500; i++) {
    if (e->open_count() == n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST_F(NbdExportTest, SocketModeKindAndRemovalOnStop) {
  start(&target);
  struct stat st;
  ASSERT_EQ(::lstat(path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(exp->kind(), "nbd-export");
  EXPECT_EQ(exp->device_path(), path());
  exp->stop();
  EXPECT_NE(::lstat(path().c_str(), &st), 0);
  exp->stop();  // Idempotent.
}

TEST_F(NbdExportTest, StaleSocketReplacedLiveOneAndRegularFileRefused) {
  {
    // A bound-but-dead socket file, as left by a crashed run.
    UniqueFd s(::socket(AF_UNIX, SOCK_STREAM, 0));
    struct sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path().c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  start(&target);
  Client c(path());
  ASSERT_TRUE(c.connected());
  c.connect_go();
  EXPECT_EQ(c.size, kSize);

  NbdExportOptions opts;
  opts.socket_path = path();
  NbdExport second(&target, opts);
  std::string error;
  EXPECT_EQ(second.start(&error), -EADDRINUSE);
  EXPECT_NE(error.find("in use"), std::string::npos) << error;

  opts.socket_path = dir.path + "/plain";
  { FILE* f = std::fopen(opts.socket_path.c_str(), "w"); ASSERT_NE(f, nullptr); std::fclose(f); }
  NbdExport third(&target, opts);
  EXPECT_EQ(third.start(&error), -EEXIST);
  EXPECT_NE(error.find("not a socket"), std::string::npos) << error;
}

TEST_F(NbdExportTest, GoWriteReadFlushTrimWriteZeroes) {
  start(&target);
  Client c(path());
  c.connect_go();
  EXPECT_EQ(c.size, kSize);
  EXPECT_EQ(c.tx_flags, kTxHasFlags | kTxSendFlush | kTxSendFua | kTxSendTrim | kTxSendWriteZeroes |
                            kTxCanMultiConn);
  EXPECT_TRUE(wait_open_count(exp.get(), 1));

  std::vector<uint8_t> data(8192);
  for (size_t i = 0; i < data.size(); i++) data[i] = uint8_t(i * 7 + 1);
  EXPECT_EQ(c.command(kCmdWrite, 4096, 8192, 0, data.data()), kErrNone);
  std::vector<uint8_t> back;
  EXPECT_EQ(c.command(kCmdRead, 4096, 8192, 0, nullptr, &back), kErrNone);
  EXPECT_EQ(back, data);
  EXPECT_EQ(c.command(kCmdFlush, 0, 0), kErrNone);
  EXPECT_EQ(target.mem.flushes(), 1);
  EXPECT_EQ(c.command(kCmdTrim, 4096, 4096), kErrNone);
  EXPECT_EQ(c.command(kCmdWriteZeroes, 8192, 1024, kCmdFlagFua), kErrNone);
  EXPECT_EQ(c.command(kCmdRead, 4096, 8192, 0, nullptr, &back), kErrNone);
  for (size_t i = 0; i < 5120; i++) ASSERT_EQ(back[i], 0) << i;
  for (size_t i = 5120; i < 8192; i++) ASSERT_EQ(back[i], data[i]) << i;

  auto ops = target.take();
  ASSERT_EQ(ops.size(), 6u);
  EXPECT_EQ(ops[0].op, IoOp::Write);
  EXPECT_FALSE(ops[0].fua);
  EXPECT_EQ(ops[2].op, IoOp::Flush);
  EXPECT_EQ(ops[3].op, IoOp::Trim);
  EXPECT_EQ(ops[4].op, IoOp::WriteZeroes);
  EXPECT_TRUE(ops[4].fua);
  EXPECT_EQ(ops[4].offset, 8192u);
  EXPECT_EQ(ops[4].length, 1024u);

  c.request(kCmdDisc, 99, 0, 0);
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_TRUE(wait_open_count(exp.get(), 0));
}

TEST_F(NbdExportTest, FuaWriteReachesTarget) {
  start(&target);
  Client c(path());
  c.connect_go("r0");
  std::vector<uint8_t> data(512, 0xab);
  EXPECT_EQ(c.command(kCmdWrite, 0, 512, kCmdFlagFua, data.data()), kErrNone);
  auto ops = target.take();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].op, IoOp::Write);
  EXPECT_TRUE(ops[0].fua);
}

TEST_F(NbdExportTest, InfoThenGoWithBlockSizeAndName) {
  NbdExportOptions opts;
  opts.description = "tandem resource r0";
  start(&target, opts);
  Client c(path());
  c.greet();
  ASSERT_EQ(c.go("r0", kOptInfo, {kInfoName, kInfoDescription, kInfoBlockSize}), kRepAck);
  EXPECT_EQ(c.size, kSize);
  bool saw_block = false, saw_name = false, saw_desc = false;
  for (auto& info : c.infos_seen) {
    uint16_t type = uint16_t(info[0] << 8 | info[1]);
    if (type == kInfoBlockSize) {
      saw_block = true;
      ASSERT_EQ(info.size(), kInfoBlockSizeBytes);
      EXPECT_EQ(get_be32(info.data() + 2), 1u);
      EXPECT_EQ(get_be32(info.data() + 6), 4096u);
      EXPECT_EQ(get_be32(info.data() + 10), 32u << 20);
    } else if (type == kInfoName) {
      saw_name = true;
      EXPECT_EQ(std::string(info.begin() + 2, info.end()), "r0");
    } else if (type == kInfoDescription) {
      saw_desc = true;
      EXPECT_EQ(std::string(info.begin() + 2, info.end()), "tandem resource r0");
    }
  }
  EXPECT_TRUE(saw_block && saw_name && saw_desc);
  // INFO leaves the client in negotiation; GO then enters transmission.
  ASSERT_EQ(c.go("r0"), kRepAck);
  std::vector<uint8_t> back;
  EXPECT_EQ(c.command(kCmdRead, 0, 512, 0, nullptr, &back), kErrNone);
}

TEST_F(NbdExportTest, UnsupportedOptionsListAndUnknownExport) {
  start(&target);
  Client c(path());
  c.greet();
  OptionReplyHeader h;
  std::vector<uint8_t> data;
  for (uint32_t opt : {kOptStartTls, kOptStructuredReply, kOptSetMetaContext, 4242u}) {
    c.send_option(opt, opt == 4242u ? std::vector<uint8_t>{1, 2, 3} : std::vector<uint8_t>{});
    ASSERT_TRUE(c.read_option_reply(&h, &data));
    EXPECT_EQ(h.option, opt);
    EXPECT_EQ(h.type, kRepErrUnsup);
  }
  c.send_option(kOptList, {});
  ASSERT_TRUE(c.read_option_reply(&h, &data));
  EXPECT_EQ(h.type, kRepServer);
  EXPECT_EQ(data, (std::vector<uint8_t>{0, 0, 0, 2, 'r', '0'}));
  ASSERT_TRUE(c.read_option_reply(&h, &data));
  EXPECT_EQ(h.type, kRepAck);
  EXPECT_EQ(c.go("nope"), kRepErrUnknown);
  std::vector<uint8_t> garbage = {0, 0, 0, 9, 'x'};
  c.send_option(kOptGo, garbage);
  ASSERT_TRUE(c.read_option_reply(&h, &data));
  EXPECT_EQ(h.type, kRepErrInvalid);
  EXPECT_EQ(c.go(""), kRepAck);
}

TEST_F(NbdExportTest, ExportNameWithAndWithoutZeroPad) {
  start(&target);
  for (bool no_zeroes : {true, false}) {
    Client c(path());
    c.greet(kClientFlagFixedNewstyle | (no_zeroes ? kClientFlagNoZeroes : 0));
    std::string name = "r0";
    c.send_option(kOptExportName, std::vector<uint8_t>(name.begin(), name.end()));
    std::vector<uint8_t> buf(no_zeroes ? 10 : 134);
    ASSERT_EQ(recv_all(c.fd(), buf.data(), buf.size()), 0);
    EXPECT_EQ(get_be64(buf.data()), kSize);
    // Transmission starts right after: a 4-byte read proves no stray pad bytes precede the reply.
    std::vector<uint8_t> back;
    EXPECT_EQ(c.command(kCmdRead, 0, 4, 0, nullptr, &back), kErrNone);
  }
  Client bad(path());
  bad.greet();
  bad.send_option(kOptExportName, {'x'});
  EXPECT_TRUE(bad.closed_by_server());
}

TEST_F(NbdExportTest, AbortAndNonFixedAndUnknownFlagsAndHugeOption) {
  start(&target);
  {
    Client c(path());
    c.greet();
    c.send_option(kOptAbort, {});
    OptionReplyHeader h;
    std::vector<uint8_t> data;
    ASSERT_TRUE(c.read_option_reply(&h, &data));
    EXPECT_EQ(h.type, kRepAck);
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    Client c(path());
    c.greet(0);  // Plain (non-fixed) newstyle.
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    Client c(path());
    c.greet(kClientFlagFixedNewstyle | 0x100);
    EXPECT_TRUE(c.closed_by_server());
  }
  {
    Client c(path());
    c.greet();
    uint8_t h[kOptionHeaderBytes];
    encode_option_header(h, {kOptGo, 0x7fffffff});
    ASSERT_EQ(send_all(c.fd(), h, sizeof h), 0);
    OptionReplyHeader rh;
    std::vector<uint8_t> data;
    ASSERT_TRUE(c.read_option_reply(&rh, &data));
    EXPECT_EQ(rh.type, kRepErrTooBig);
    EXPECT_TRUE(c.closed_by_server());
  }
  EXPECT_TRUE(wait_open_count(exp.get(), 0));
}

TEST_F(NbdExportTest, SilentClientDroppedAfterHandshakeTimeout) {
  NbdExportOptions opts;
  opts.handshake_timeout_ms = 200;
  start(&target, opts);
  Client c(path());
  c.greet();  // ... and then says nothing.
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_TRUE(wait_open_count(exp.get(), 0));
}

TEST_F(NbdExportTest, BadMagicDisconnectsAndServerKeepsServing) {
  start(&target);
  Client c(path());
  c.connect_go();
  uint8_t junk[kRequestBytes] = {0xde, 0xad, 0xbe, 0xef};
  ASSERT_EQ(send_all(c.fd(), junk, sizeof junk), 0);
  EXPECT_TRUE(c.closed_by_server());
  Client d(path());
  d.connect_go();
  EXPECT_EQ(d.command(kCmdFlush, 0, 0), kErrNone);
}

TEST_F(NbdExportTest, BadRequestsGetErrorsAndConnectionContinues) {
  start(&target);
  Client c(path());
  c.connect_go();
  EXPECT_EQ(c.command(77, 0, 512), kErrInval);
  EXPECT_EQ(c.command(kCmdRead, kSize - 512, 1024), kErrInval);
  std::vector<uint8_t> data(1024, 0x5a);
  EXPECT_EQ(c.command(kCmdWrite, kSize - 512, 1024, 0, data.data()), kErrNoSpc);  // Payload is consumed.
  EXPECT_EQ(c.command(kCmdRead, 0, 512, kCmdFlagDf), kErrInval);
  std::vector<uint8_t> back;
  EXPECT_EQ(c.command(kCmdRead, 0, 0, 0, nullptr, &back), kErrNone);
  EXPECT_EQ(c.command(kCmdWrite, 0, 1024, 0, data.data()), kErrNone);
  EXPECT_EQ(c.command(kCmdRead, 0, 1024, 0, nullptr, &back), kErrNone);
  EXPECT_EQ(back, data);
  EXPECT_TRUE(target.take().size() == 2);  // Refused requests never reached the target.
  // A write larger than the maximum block size cannot be skipped: the server disconnects.
  c.request(kCmdWrite, 5, 0, (32u << 20) + 1);
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(NbdExportTest, ReadOnlyTargetAdvertisedAndWritesRefused) {
  target.mem.set_writable(false);
  start(&target);
  Client c(path());
  c.connect_go();
  EXPECT_TRUE(c.tx_flags & kTxReadOnly);
  std::vector<uint8_t> data(512, 1);
  EXPECT_EQ(c.command(kCmdWrite, 0, 512, 0, data.data()), kErrPerm);
  EXPECT_EQ(c.command(kCmdTrim, 0, 512), kErrPerm);
  std::vector<uint8_t> back;
  EXPECT_EQ(c.command(kCmdRead, 0, 512, 0, nullptr, &back), kErrNone);
}

TEST_F(NbdExportTest, DemotionAfterHandshakeMapsErofsToEperm) {
  start(&target);
  Client c(path());
  c.connect_go();
  EXPECT_FALSE(c.tx_flags & kTxReadOnly);
  target.mem.set_writable(false);  // The node became Secondary while the client was connected.
  std::vector<uint8_t> data(512, 1);
  EXPECT_EQ(c.command(kCmdWrite, 0, 512, 0, data.data()), kErrPerm);
  EXPECT_EQ(c.command(kCmdWriteZeroes, 0, 512), kErrPerm);
}

TEST_F(NbdExportTest, RepliesInCompletionOrder) {
  HeldTarget held(kSize);
  start(&held);
  Client c(path());
  c.connect_go();
  for (uint64_t cookie = 1; cookie <= 3; cookie++) c.request(kCmdRead, cookie, cookie * 512, 512);
  ASSERT_TRUE(held.wait_held(3));
  for (uint64_t expect = 3; expect >= 1; expect--) {
    held.take_back()->complete(0);
    SimpleReply r;
    std::vector<uint8_t> data;
    ASSERT_TRUE(c.reply(&r, &data, 512));
    EXPECT_EQ(r.cookie, expect);
    EXPECT_EQ(r.error, 0u);
  }
  exp.reset();  // Before `held` goes away.
}

TEST_F(NbdExportTest, SlotsBoundInFlightRequests) {
  HeldTarget held(kSize);
  NbdExportOptions opts;
  opts.slots_per_connection = 2;
  start(&held, opts);
  Client c(path());
  c.connect_go();
  for (uint64_t cookie = 1; cookie <= 3; cookie++) c.request(kCmdFlush, cookie, 0, 0);
  ASSERT_TRUE(held.wait_held(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  {
    std::lock_guard<std::mutex> lock(held.mu);
    EXPECT_EQ(held.held.size(), 2u);  // The third waits in the socket until a slot frees.
  }
  held.take_back()->complete(0);
  ASSERT_TRUE(held.wait_held(2));
  while (true) {
    {
      std::lock_guard<std::mutex> lock(held.mu);
      if (held.held.empty()) break;
    }
    held.take_back()->complete(-EIO);
  }
  int io_errors = 0;
  for (int i = 0; i < 3; i++) {
    SimpleReply r;
    ASSERT_TRUE(c.reply(&r));
    if (r.error == kErrIo) io_errors++;
  }
  EXPECT_EQ(io_errors, 2);
  exp.reset();  // Before `held` goes away.
}

TEST_F(NbdExportTest, StopWithRequestsInFlightIsBounded) {
  HeldTarget held(kSize);
  NbdExportOptions opts;
  opts.stop_timeout_ms = 2000;
  start(&held, opts);
  Client c(path());
  c.connect_go();
  c.request(kCmdFlush, 1, 0, 0);
  ASSERT_TRUE(held.wait_held(1));
  // Complete the request from another thread while stop() waits: stop must wait for it, then return.
  std::thread completer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    held.take_back()->complete(0);
  });
  auto t0 = std::chrono::steady_clock::now();
  exp->stop();
  auto elapsed = std::chrono::steady_clock::now() - t0;
  completer.join();
  EXPECT_GE(elapsed, std::chrono::milliseconds(150));
  EXPECT_LT(elapsed, std::chrono::milliseconds(1900));
  EXPECT_EQ(exp->open_count(), 0);
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(NbdExportTest, MaxClientsBound) {
  NbdExportOptions opts;
  opts.max_clients = 2;
  start(&target, opts);
  Client a(path()), b(path());
  a.connect_go();
  b.connect_go();
  ASSERT_TRUE(wait_open_count(exp.get(), 2));
  Client extra(path());
  EXPECT_TRUE(extra.closed_by_server());
  a.request(kCmdDisc, 1, 0, 0);
  ASSERT_TRUE(wait_open_count(exp.get(), 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // Let the accept thread reap.
  Client again(path());
  again.connect_go();
  EXPECT_EQ(again.command(kCmdFlush, 0, 0), kErrNone);
}

}  // namespace
}  // namespace tandem
