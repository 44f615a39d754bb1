// Lists the IPv4 addresses configured on this machine's interfaces, used to find the local `on` section
// when the hostname matches none (config::select_local_host). Reads kernel state, hence lives in io/.
#pragma once

#include <string>
#include <vector>

namespace tandem {

// Dotted-quad IPv4 addresses of all interfaces (up or down, loopback included), without duplicates,
// in the order getifaddrs(3) reports them. Returns false and sets *error (with errno text) on failure.
bool list_local_ipv4_addresses(std::vector<std::string>* out, std::string* error);

}  // namespace tandem
