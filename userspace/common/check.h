// Invariant checks that stay on in every build type (release included).
//
// TANDEM_CHECK(cond) aborts with file:line and the condition when an invariant is broken: a broken invariant
// means the in-memory state can no longer be trusted, and continuing could write bad data to a replica.
// Never use it for bad *input* (wire, config, metadata, command line): input errors are reported and handled.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace tandem::detail {
[[noreturn]] inline void check_failed(const char* file, int line, const char* expr, const char* msg) {
  std::fprintf(stderr, "tandem: invariant broken at %s:%d: %s%s%s\n", file, line, expr, msg[0] ? ": " : "", msg);
  std::fflush(stderr);
  std::abort();
}
}  // namespace tandem::detail

#define TANDEM_CHECK(cond)                                                                    \
  do {                                                                                        \
    if (!(cond)) [[unlikely]] ::tandem::detail::check_failed(__FILE__, __LINE__, #cond, ""); \
  } while (0)

#define TANDEM_CHECK_MSG(cond, msg)                                                              \
  do {                                                                                           \
    if (!(cond)) [[unlikely]] ::tandem::detail::check_failed(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)
