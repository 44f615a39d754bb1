#include "io/local_addresses.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace tandem {
namespace {

// Every Linux machine (and network namespace with lo up) has 127.0.0.1; a fresh namespace may have lo down
// without an address, so only check what getifaddrs guarantees: success and well-formed, unique entries.
TEST(LocalAddresses, ListsWellFormedUniqueAddresses) {
  std::vector<std::string> addrs;
  std::string error;
  ASSERT_TRUE(list_local_ipv4_addresses(&addrs, &error)) << error;
  for (const std::string& a : addrs) {
    EXPECT_EQ(std::count(a.begin(), a.end(), '.'), 3) << a;
    EXPECT_EQ(std::count(addrs.begin(), addrs.end(), a), 1) << a;
  }
}

}  // namespace
}  // namespace tandem
