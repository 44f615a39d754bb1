#include <gtest/gtest.h>

#include "config/config.h"
#include "config/test_util.h"

namespace tandem::config {
namespace {

class HostSelect : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_ = testing::parse_ok(testing::kGoodR0);
    ASSERT_EQ(cfg_.resources.size(), 1u);
    res_ = &cfg_.resources[0];
  }
  Config cfg_;
  const ResourceConfig* res_ = nullptr;
  std::string error_;
};

TEST_F(HostSelect, ExplicitHostWins) {
  const HostConfig* h = select_local_host(*res_, "beta", "alpha", {"10.99.0.1"}, &error_);
  ASSERT_NE(h, nullptr) << error_;
  EXPECT_EQ(h->name, "beta");
  EXPECT_EQ(peer_of(*res_, *h)->name, "alpha");
}

TEST_F(HostSelect, ExplicitHostMustExist) {
  EXPECT_EQ(select_local_host(*res_, "gamma", "alpha", {}, &error_), nullptr);
  EXPECT_EQ(error_, "resource r0: host 'gamma' (from --host) is not one of its hosts (alpha, beta)");
}

TEST_F(HostSelect, ByUname) {
  const HostConfig* h = select_local_host(*res_, "", "alpha", {"10.99.0.2"}, &error_);
  ASSERT_NE(h, nullptr) << error_;
  EXPECT_EQ(h->name, "alpha");
  EXPECT_EQ(peer_of(*res_, *h)->name, "beta");
}

TEST_F(HostSelect, ByAddressWhenUnameMatchesNothing) {
  const HostConfig* h = select_local_host(*res_, "", "buildbox", {"127.0.0.1", "10.99.0.2"}, &error_);
  ASSERT_NE(h, nullptr) << error_;
  EXPECT_EQ(h->name, "beta");
}

TEST_F(HostSelect, NoneMatches) {
  EXPECT_EQ(select_local_host(*res_, "", "buildbox", {"127.0.0.1"}, &error_), nullptr);
  EXPECT_EQ(error_, "resource r0: no host matches this machine: hostname 'buildbox' is not one of (alpha, beta), and "
                    "no host address is among the local addresses (127.0.0.1); use --host");
  EXPECT_EQ(select_local_host(*res_, "", "", {}, &error_), nullptr);
  EXPECT_EQ(error_, "resource r0: no host matches this machine: hostname '' is not one of (alpha, beta), and no host "
                    "address is among the local addresses (none); use --host");
}

TEST_F(HostSelect, AmbiguousByAddress) {
  EXPECT_EQ(select_local_host(*res_, "", "buildbox", {"10.99.0.1", "10.99.0.2"}, &error_), nullptr);
  EXPECT_EQ(error_, "resource r0: cannot tell which host is local: hostname 'buildbox' matches no host, and the "
                    "addresses of both alpha (10.99.0.1) and beta (10.99.0.2) are configured here; use --host");
}

TEST_F(HostSelect, UnameBeatsAddress) {
  // Both addresses local (e.g. a single-machine test) but the hostname decides.
  const HostConfig* h = select_local_host(*res_, "", "beta", {"10.99.0.1", "10.99.0.2"}, &error_);
  ASSERT_NE(h, nullptr) << error_;
  EXPECT_EQ(h->name, "beta");
}

}  // namespace
}  // namespace tandem::config
