#include "config/config.h"

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
