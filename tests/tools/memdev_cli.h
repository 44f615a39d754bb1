// Small command-line helpers shared by the test servers (fuse_loop_memdev, kernel_nbd_memdev).
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace tandem::testtools {

// One line on stdout, flushed at once: the test scripts wait for these lines.
inline void say(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

// A whole decimal number, nothing else.
inline bool parse_u64(const char* s, uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') return false;
  *out = v;
  return true;
}

}  // namespace tandem::testtools
