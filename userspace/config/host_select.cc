// Choosing which `on` section describes this machine. DRBD uses only uname -n; tandem also accepts an
// explicit --host (for tests and containers whose hostname cannot be set) and falls back to matching the
// configured addresses against the local interfaces, so a renamed machine still finds its section.
#include <fmt/format.h>

#include <algorithm>

#include "common/check.h"
#include "config/config.h"

namespace tandem::config {
namespace {
std::string host_names(const ResourceConfig& res) {
  std::string s;
  for (const HostConfig& h : res.hosts) s += (s.empty() ? "" : ", ") + h.name;
  return s;
}
}  // namespace

const HostConfig* select_local_host(const ResourceConfig& res, const std::string& explicit_host,
                                    const std::string& uname_n, const std::vector<std::string>& local_addresses,
                                    std::string* error) {
  if (!explicit_host.empty()) {
    if (const HostConfig* h = res.find_host(explicit_host)) return h;
    *error = fmt::format("resource {}: host '{}' (from --host) is not one of its hosts ({})", res.name, explicit_host,
                         host_names(res));
    return nullptr;
  }
  if (!uname_n.empty()) {
    if (const HostConfig* h = res.find_host(uname_n)) return h;
  }
  const HostConfig* match = nullptr;
  std::string matched;
  for (const HostConfig& h : res.hosts) {
    if (std::find(local_addresses.begin(), local_addresses.end(), h.address) == local_addresses.end()) continue;
    if (match != nullptr) {
      *error = fmt::format("resource {}: cannot tell which host is local: hostname '{}' matches no host, and the "
                           "addresses of both {} ({}) and {} ({}) are configured here; use --host", res.name, uname_n,
                           match->name, match->address, h.name, h.address);
      return nullptr;
    }
    match = &h;
  }
  if (match != nullptr) return match;
  std::string addrs;
  for (const std::string& a : local_addresses) addrs += (addrs.empty() ? "" : ", ") + a;
  *error = fmt::format("resource {}: no host matches this machine: hostname '{}' is not one of ({}), and no host "
                       "address is among the local addresses ({}); use --host", res.name, uname_n, host_names(res),
                       addrs.empty() ? "none" : addrs);
  return nullptr;
}

const HostConfig* peer_of(const ResourceConfig& res, const HostConfig& local) {
  TANDEM_CHECK(res.hosts.size() == 2);
  if (&local == &res.hosts[0]) return &res.hosts[1];
  TANDEM_CHECK(&local == &res.hosts[1]);
  return &res.hosts[0];
}

}  // namespace tandem::config
