#include "config/config_change.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <set>

namespace tandem::config {

namespace {

std::string shown(const std::string* v) { return v ? *v : std::string("(unset)"); }

// Net keywords that shape the connection itself (the link's settings, or what both peers agree on at the
// handshake): a new value needs a new connection. The others are read when needed (the after-sb-* policies
// at the next handshake, fencing at the next loss of the connection) or not at all yet (max-buffers,
// sndbuf-size, ko-count, ...: kept in the configuration), so changing them never drops the link.
bool net_key_needs_reconnect(std::string_view key) {
  return key == "data-integrity-alg" || key == "verify-alg" || key == "csums-alg" || key == "csums-after-crash-only";
}
bool key_is_secret(std::string_view key) { return key == "shared-secret"; }

// Keys of `a` and `b` whose values differ (present in one only counts), in a stable order.
std::vector<std::string> changed_keys(const OptionList& a, const OptionList& b) {
  std::set<std::string> keys;
  for (const auto& [k, v] : a) keys.insert(k);
  for (const auto& [k, v] : b) keys.insert(k);
  auto find = [](const OptionList& l, const std::string& k) -> const std::string* {
    for (const auto& [key, value] : l)
      if (key == k) return &value;  // the first one, as Section::get
    return nullptr;
  };
  std::vector<std::string> out;
  for (const std::string& k : keys) {
    const std::string* x = find(a, k);
    const std::string* y = find(b, k);
    if ((x == nullptr) != (y == nullptr) || (x && *x != *y)) out.push_back(k);
  }
  return out;
}

std::string describe(std::string_view section, const std::string& key, const std::string* from,
                     const std::string* to) {
  if (key_is_secret(key)) return fmt::format("{} {} changed", section, key);
  return fmt::format("{} {} {} -> {}", section, key, shown(from), shown(to));
}

void compare_section(std::string_view name, const Section& a, const Section& b, std::vector<std::string>* live,
                     std::vector<std::string>* next_up, const std::vector<std::string_view>& start_only) {
  for (const std::string& k : changed_keys(a.options, b.options)) {
    bool at_start = std::find(start_only.begin(), start_only.end(), k) != start_only.end();
    (at_start ? next_up : live)->push_back(describe(name, k, a.get(k), b.get(k)));
  }
}

}  // namespace

ConfigChange plan_config_change(const ResourceConfig& running, const ResourceConfig& next, std::string_view host) {
  ConfigChange c;
  const HostConfig* l0 = running.find_host(host);
  const HostConfig* l1 = next.find_host(host);
  const HostConfig* p0 = peer_of(running, *l0);
  const HostConfig* p1 = peer_of(next, *l1);
  auto host_field = [&](std::vector<std::string>* to, std::string_view what, const std::string& a,
                        const std::string& b) {
    if (a != b) to->push_back(fmt::format("{} {} -> {}", what, a.empty() ? "(unset)" : a, b.empty() ? "(unset)" : b));
  };
  const std::string here = fmt::format("on {}:", host);
  host_field(&c.needs_down, here + " node-id", std::to_string(l0->node_id), std::to_string(l1->node_id));
  host_field(&c.needs_down, here + " disk", l0->volume.disk, l1->volume.disk);
  host_field(&c.needs_down, here + " meta-disk", l0->volume.meta_disk, l1->volume.meta_disk);
  host_field(&c.needs_down, here + " device", l0->volume.device, l1->volume.device);
  host_field(&c.needs_down, here + " minor", std::to_string(l0->volume.minor), std::to_string(l1->volume.minor));
  host_field(&c.reconnect, here + " address", fmt::format("{}:{}", l0->address, l0->port),
             fmt::format("{}:{}", l1->address, l1->port));
  const std::string there = fmt::format("peer {}:", p1->name);
  host_field(&c.live, "peer name", p0->name, p1->name);  // only handlers see it (DRBD_PEER)
  host_field(&c.needs_down, there + " node-id", std::to_string(p0->node_id), std::to_string(p1->node_id));
  host_field(&c.reconnect, there + " address", fmt::format("{}:{}", p0->address, p0->port),
             fmt::format("{}:{}", p1->address, p1->port));

  // The net section: the interpreted values (a default and the same value written out are no change), then
  // the other keywords as written.
  const NetConfig& n0 = running.net;
  const NetConfig& n1 = next.net;
  if (n0.protocol != n1.protocol) c.reconnect.push_back(fmt::format("net protocol {} -> {}", n0.protocol, n1.protocol));
  host_field(&c.reconnect, "net cram-hmac-alg", n0.cram_hmac_alg, n1.cram_hmac_alg);
  if (n0.shared_secret != n1.shared_secret) c.reconnect.push_back("net shared-secret changed");
  host_field(&c.reconnect, "net ping-int", std::to_string(n0.ping_int_s), std::to_string(n1.ping_int_s));
  host_field(&c.reconnect, "net ping-timeout", std::to_string(n0.ping_timeout_ds), std::to_string(n1.ping_timeout_ds));
  host_field(&c.live, "net timeout", std::to_string(n0.timeout_ds), std::to_string(n1.timeout_ds));  // unused yet
  host_field(&c.reconnect, "net connect-int", std::to_string(n0.connect_int_s), std::to_string(n1.connect_int_s));
  static constexpr std::array<std::string_view, 7> kInterpreted = {
      "protocol", "cram-hmac-alg", "shared-secret", "ping-int", "ping-timeout", "timeout", "connect-int"};
  for (const std::string& k : changed_keys(n0.options, n1.options)) {
    if (std::find(kInterpreted.begin(), kInterpreted.end(), k) != kInterpreted.end()) continue;
    (net_key_needs_reconnect(k) ? c.reconnect : c.live).push_back(describe("net", k, n0.get(k), n1.get(k)));
  }
  // The activity log is sized when the daemon starts; the rest of disk {} is read when used.
  compare_section("disk", running.disk, next.disk, &c.live, &c.next_up, {"al-extents"});
  compare_section("handlers", running.handlers, next.handlers, &c.live, &c.next_up, {});
  compare_section("options", running.options, next.options, &c.live, &c.next_up, {"ublk-recovery-grace"});
  compare_section("startup", running.startup, next.startup, &c.live, &c.next_up, {});
  return c;
}

}  // namespace tandem::config
