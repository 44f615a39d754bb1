// Test helper: a temporary file under /tmp (mkstemp) of a given sparse size, removed on destruction.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace tandem::meta {

class TempFile {
 public:
  explicit TempFile(uint64_t size_bytes = 0) {
    char name[] = "/tmp/tandem-meta-test-XXXXXX";
    int fd = ::mkstemp(name);
    EXPECT_GE(fd, 0);
    path_ = name;
    if (fd >= 0) {
      EXPECT_EQ(::ftruncate(fd, off_t(size_bytes)), 0);
      ::close(fd);
    }
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }

  // Writes `len` bytes at `offset` (test setup; fails the test on error).
  void write_at(uint64_t offset, const void* data, size_t len) const {
    int fd = ::open(path_.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(::pwrite(fd, data, len, off_t(offset)), ssize_t(len));
    ::close(fd);
  }
  void read_at(uint64_t offset, void* data, size_t len) const {
    int fd = ::open(path_.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(::pread(fd, data, len, off_t(offset)), ssize_t(len));
    ::close(fd);
  }

 private:
  std::string path_;
};

}  // namespace tandem::meta
