#include "io/dsync_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <map>
#include <vector>

namespace tandem {
namespace {

class DsyncWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/var/tmp/tandem-dsync-XXXXXX";
    fd_ = mkstemp(tmpl);
    ASSERT_GE(fd_, 0);
    path_ = tmpl;
    ASSERT_EQ(ftruncate(fd_, 1 << 20), 0);
  }
  void TearDown() override {
    close(fd_);
    unlink(path_.c_str());
  }
  // Waits (bounded) on the event descriptor, as the loop does, until `n` writes reported.
  std::map<uint64_t, int> wait_for(DsyncWriter& w, size_t n) {
    std::map<uint64_t, int> results;
    for (int i = 0; i < 100 && results.size() < n; i++) {
      pollfd p{w.event_fd(), POLLIN, 0};
      poll(&p, 1, 100);
      w.reap([&](uint64_t tag, int res) { results[tag] = res; });
    }
    return results;
  }
  int fd_ = -1;
  std::string path_;
};

TEST_F(DsyncWriterTest, WritesLandAndReportEachTag) {
  DsyncWriter w;
  std::string err;
  ASSERT_TRUE(w.open(fd_, &err)) << err;
  std::vector<uint8_t> a(4096, 0x11), b(100, 0x22);
  w.submit(7, 8192, a.data(), 4096);
  w.submit(9, 100, b.data(), 100);
  a.assign(4096, 0);  // the writer copied the block
  EXPECT_EQ(w.in_flight(), 2u);
  auto results = wait_for(w, 2);
  EXPECT_EQ(results, (std::map<uint64_t, int>{{7, 0}, {9, 0}}));
  EXPECT_EQ(w.in_flight(), 0u);
  std::vector<uint8_t> back(4096);
  ASSERT_EQ(pread(fd_, back.data(), 4096, 8192), 4096);
  EXPECT_EQ(back, std::vector<uint8_t>(4096, 0x11));
  ASSERT_EQ(pread(fd_, back.data(), 100, 100), 100);
  EXPECT_EQ(std::vector<uint8_t>(back.begin(), back.begin() + 100), b);
}

TEST_F(DsyncWriterTest, FullAtTheBoundAndErrorsReported) {
  int ro = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(ro, 0);
  {
    DsyncWriter w;
    std::string err;
    ASSERT_TRUE(w.open(ro, &err)) << err;
    std::vector<uint8_t> a(512, 1);
    for (unsigned i = 0; i < DsyncWriter::kMaxInFlight; i++) w.submit(i, i * 512, a.data(), 512);
    EXPECT_TRUE(w.full());
    auto results = wait_for(w, DsyncWriter::kMaxInFlight);
    ASSERT_EQ(results.size(), DsyncWriter::kMaxInFlight);
    for (auto& [tag, res] : results) EXPECT_EQ(res, -EBADF) << tag;
    EXPECT_FALSE(w.full());
  }
  close(ro);
}

}  // namespace
}  // namespace tandem
