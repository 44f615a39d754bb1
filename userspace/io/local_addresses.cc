#include "io/local_addresses.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace tandem {

bool list_local_ipv4_addresses(std::vector<std::string>* out, std::string* error) {
  out->clear();
  struct ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) {
    *error = std::string("getifaddrs: ") + std::strerror(errno);
    return false;
  }
  for (struct ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
    if (ifa->ifa_addr == nullptr || ifa->ifa_addr->sa_family != AF_INET) continue;
    char buf[INET_ADDRSTRLEN];
    const auto* sin = reinterpret_cast<const struct sockaddr_in*>(ifa->ifa_addr);
    if (::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf) == nullptr) continue;
    std::string addr(buf);
    if (std::find(out->begin(), out->end(), addr) == out->end()) out->push_back(std::move(addr));
  }
  ::freeifaddrs(list);
  return true;
}

}  // namespace tandem
