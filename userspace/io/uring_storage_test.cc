#include "io/uring_storage.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <map>

namespace tandem {
namespace {

class UringStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/var/tmp/tandem-uring-XXXXXX";
    int fd = mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    path_ = tmpl;
    ASSERT_EQ(ftruncate(fd, kSize), 0);
    close(fd);
    std::string err;
    ASSERT_TRUE(st_.open(path_, kSize, &err)) << err;
  }
  void TearDown() override { unlink(path_.c_str()); }
  // Submits one op and waits for its completion.
  int run(const StorageOp& op) {
    st_.submit(op);
    std::map<uint64_t, int> results;
    for (int i = 0; i < 1000 && !results.count(op.tag); i++) {
      st_.reap([&](uint64_t tag, int res) { results[tag] = res; });
      if (!results.count(op.tag)) usleep(1000);
    }
    EXPECT_TRUE(results.count(op.tag));
    return results[op.tag];
  }
  static constexpr uint64_t kSize = 4 << 20;
  std::string path_;
  UringStorage st_;
};

TEST_F(UringStorageTest, AlignedAndUnalignedWritesReadBack) {
  alignas(4096) static uint8_t buf[8192];
  memset(buf, 0xA5, sizeof buf);
  EXPECT_EQ(run({StorageOpKind::Write, 1, 8192, 8192, buf, true}), 0);
  std::vector<uint8_t> odd(1000, 0x3C);
  EXPECT_EQ(run({StorageOpKind::Write, 2, 100, 1000, odd.data(), false}), 0);
  alignas(4096) static uint8_t rd[8192];
  EXPECT_EQ(run({StorageOpKind::Read, 3, 8192, 8192, rd, false}), 0);
  EXPECT_EQ(memcmp(rd, buf, sizeof buf), 0);
  std::vector<uint8_t> rd2(1000);
  EXPECT_EQ(run({StorageOpKind::Read, 4, 100, 1000, rd2.data(), false}), 0);
  EXPECT_EQ(rd2, odd);
  EXPECT_EQ(run({StorageOpKind::Flush, 5, 0, 0, nullptr, false}), 0);
}

TEST_F(UringStorageTest, ZeroesAndTrimLeaveZeroes) {
  std::vector<uint8_t> data(65536, 0xFF);
  EXPECT_EQ(run({StorageOpKind::Write, 1, 0, 65536, data.data(), false}), 0);
  EXPECT_EQ(run({StorageOpKind::WriteZeroes, 2, 0, 16384, nullptr, false}), 0);
  EXPECT_EQ(run({StorageOpKind::Trim, 3, 16384, 16384, nullptr, false}), 0);
  std::vector<uint8_t> rd(65536);
  EXPECT_EQ(run({StorageOpKind::Read, 4, 0, 65536, rd.data(), false}), 0);
  for (int i = 0; i < 32768; i++) ASSERT_EQ(rd[i], 0) << i;
  for (int i = 32768; i < 65536; i++) ASSERT_EQ(rd[i], 0xFF) << i;
}

TEST_F(UringStorageTest, ManyInFlightBeyondQueueDepth) {
  std::vector<uint8_t> data(4096, 7);
  for (uint64_t i = 0; i < 1000; i++) st_.submit({StorageOpKind::Write, i, (i % 1024) * 4096, 4096, data.data(), false});
  int n = 0;
  for (int tries = 0; tries < 5000 && n < 1000; tries++) {
    n += st_.reap([](uint64_t, int res) { EXPECT_EQ(res, 0); });
    usleep(200);
  }
  EXPECT_EQ(st_.in_flight(), 0u);
}

}  // namespace
}  // namespace tandem
