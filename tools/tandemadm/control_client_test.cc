#include "control_client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "common/unique_fd.h"

namespace tandem::adm {
namespace {

TEST(ControlResponse, ParsesOkAndErr) {
  ControlResponse r;
  std::string error;
  ASSERT_TRUE(parse_control_response("OK\n", &r, &error)) << error;
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.body, "");
  ASSERT_TRUE(parse_control_response("OK", &r, &error)) << error;
  EXPECT_TRUE(r.ok);
  ASSERT_TRUE(parse_control_response("OK\npong\n", &r, &error)) << error;
  EXPECT_EQ(r.body, "pong\n");
  ASSERT_TRUE(parse_control_response("ERR 11\npeer is Primary\nsecond line\n", &r, &error)) << error;
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, 11);
  EXPECT_EQ(r.body, "peer is Primary\nsecond line\n");
  ASSERT_TRUE(parse_control_response("ERR 255", &r, &error)) << error;
  EXPECT_EQ(r.code, 255);
}

TEST(ControlResponse, RejectsMalformed) {
  ControlResponse r;
  std::string error;
  EXPECT_FALSE(parse_control_response("", &r, &error));
  EXPECT_NE(error.find("without answering"), std::string::npos) << error;
  for (const char* bad : {"ok\n", "OK \n", "ERR\n", "ERR 0\n", "ERR 256\n", "ERR -1\n", "ERR 1x\n", "ERR  1\n",
                          "pong\n"}) {
    EXPECT_FALSE(parse_control_response(bad, &r, &error)) << bad;
    EXPECT_NE(error.find("malformed response"), std::string::npos) << error;
  }
}

TEST(ControlResponse, RunPaths) {
  RunPaths p = run_paths("/run/tandem", "r0");
  EXPECT_EQ(p.socket, "/run/tandem/r0.ctl");
  EXPECT_EQ(p.pid, "/run/tandem/r0.pid");
  EXPECT_EQ(p.log, "/run/tandem/r0.log");
  EXPECT_EQ(run_paths("/tmp/x/", "r1").socket, "/tmp/x/r1.ctl");
}

// A one-connection fake daemon: reads the request line, then writes `answer` and closes (or, with
// answer == nullptr, holds the connection open without answering until the test ends).
class FakeDaemon {
 public:
  explicit FakeDaemon(const std::string& path) : path_(path) {
    fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    ::unlink(path.c_str());
    EXPECT_EQ(::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }
  ~FakeDaemon() {
    if (thread_.joinable()) thread_.join();
    ::unlink(path_.c_str());
  }
  void serve(const char* answer, int hold_ms = 0) {
    ASSERT_EQ(::listen(fd_.get(), 4), 0);
    thread_ = std::thread([this, answer, hold_ms] {
      UniqueFd c(::accept(fd_.get(), nullptr, nullptr));
      char buf[4096];
      std::string got;
      while (got.find('\n') == std::string::npos) {
        ssize_t n = ::read(c.get(), buf, sizeof(buf));
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
      }
      request = got;
      if (answer != nullptr) (void)!::write(c.get(), answer, std::strlen(answer));
      if (hold_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
    });
  }
  std::string request;

 private:
  std::string path_;
  UniqueFd fd_;
  std::thread thread_;
};

class ControlClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tandemadm-ctl.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    socket_ = dir_ + "/r0.ctl";
  }
  void TearDown() override { ::rmdir(dir_.c_str()); }
  std::string dir_, socket_;
};

TEST_F(ControlClientTest, SendsLineAndReadsUntilClose) {
  FakeDaemon d(socket_);
  d.serve("OK\nr0 role:Primary\n  disk:UpToDate\n");
  ControlResponse r;
  std::string error;
  ASSERT_EQ(control_request(socket_, "status", 2000, &r, &error), ControlResult::Ok) << error;
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.body, "r0 role:Primary\n  disk:UpToDate\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

TEST_F(ControlClientTest, ErrCarriesCodeAndRequestIsOneLine) {
  ControlResponse r;
  std::string error;
  {
    FakeDaemon d(socket_);
    d.serve("ERR 11\nthe peer is Primary\n");
    ASSERT_EQ(control_request(socket_, "primary --force", 2000, &r, &error), ControlResult::Ok) << error;
  }
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, 11);
  EXPECT_EQ(r.body, "the peer is Primary\n");
}

TEST_F(ControlClientTest, MissingSocketIsNotRunning) {
  ControlResponse r;
  std::string error;
  EXPECT_EQ(control_request(socket_, "ping", 1000, &r, &error), ControlResult::NotRunning);
  EXPECT_EQ(error, "no daemon socket at " + socket_);
}

TEST_F(ControlClientTest, StaleSocketIsNotRunning) {
  FakeDaemon d(socket_);  // bound but never listening: like the socket file of a daemon that died
  ControlResponse r;
  std::string error;
  EXPECT_EQ(control_request(socket_, "ping", 1000, &r, &error), ControlResult::NotRunning);
  EXPECT_NE(error.find("nobody listens"), std::string::npos) << error;
}

TEST_F(ControlClientTest, SilentDaemonTimesOut) {
  FakeDaemon d(socket_);
  d.serve(nullptr, 600);
  ControlResponse r;
  std::string error;
  EXPECT_EQ(control_request(socket_, "down", 200, &r, &error), ControlResult::Failed);
  EXPECT_NE(error.find("no complete answer to 'down'"), std::string::npos) << error;
}

TEST_F(ControlClientTest, MalformedAnswerFails) {
  FakeDaemon d(socket_);
  d.serve("HELLO\n");
  ControlResponse r;
  std::string error;
  EXPECT_EQ(control_request(socket_, "ping", 2000, &r, &error), ControlResult::Failed);
  EXPECT_NE(error.find("malformed response"), std::string::npos) << error;
}

TEST_F(ControlClientTest, RefusesBadRequestsWithoutConnecting) {
  ControlResponse r;
  std::string error;
  EXPECT_EQ(control_request(socket_, "a\nb", 1000, &r, &error), ControlResult::Failed);
  EXPECT_EQ(control_request(socket_, std::string(kControlMaxRequestBytes, 'x'), 1000, &r, &error),
            ControlResult::Failed);
  EXPECT_EQ(control_request("/" + std::string(200, 'x') + "/r0.ctl", "ping", 1000, &r, &error), ControlResult::Failed);
  EXPECT_NE(error.find("use a shorter --run-dir"), std::string::npos) << error;
}

}  // namespace
}  // namespace tandem::adm
