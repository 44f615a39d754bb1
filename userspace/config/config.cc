#include "config/config.h"

#include "config/keywords.h"

namespace tandem::config {
namespace {
const std::string* find_option(const OptionList& list, std::string_view key) {
  for (const auto& [k, v] : list)
    if (k == key) return &v;
  return nullptr;
}
}  // namespace

const std::string* Section::get(std::string_view key) const { return find_option(options, key); }
const std::string* NetConfig::get(std::string_view key) const { return find_option(options, key); }

void NetConfig::interpret() {
  const NetConfig defaults;
  protocol = defaults.protocol;
  cram_hmac_alg = defaults.cram_hmac_alg;
  shared_secret = defaults.shared_secret;
  ping_int_s = defaults.ping_int_s;
  ping_timeout_ds = defaults.ping_timeout_ds;
  timeout_ds = defaults.timeout_ds;
  connect_int_s = defaults.connect_int_s;
  // The values were range-checked by validate_value(), so these parses cannot fail.
  auto integer = [&](std::string_view key, int* out) {
    long long n = 0;
    if (const std::string* v = get(key); v && parse_integer(*v, 0, 1 << 30, &n)) *out = static_cast<int>(n);
  };
  if (const std::string* v = get("protocol")) protocol = (*v)[0];
  if (const std::string* v = get("cram-hmac-alg")) cram_hmac_alg = *v;
  if (const std::string* v = get("shared-secret")) shared_secret = *v;
  integer("ping-int", &ping_int_s);
  integer("ping-timeout", &ping_timeout_ds);
  integer("timeout", &timeout_ds);
  integer("connect-int", &connect_int_s);
}

const HostConfig* ResourceConfig::find_host(std::string_view host_name) const {
  for (const HostConfig& h : hosts)
    if (h.name == host_name) return &h;
  return nullptr;
}

bool ResourceConfig::same_settings(const ResourceConfig& o) const {
  return name == o.name && net == o.net && disk == o.disk && options == o.options && handlers == o.handlers &&
         startup == o.startup && hosts == o.hosts;
}

const ResourceConfig* Config::find(std::string_view resource_name) const {
  for (const ResourceConfig& r : resources)
    if (r.name == resource_name) return &r;
  return nullptr;
}

}  // namespace tandem::config
