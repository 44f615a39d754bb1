// `adjust`: the running resource takes the settings of its edited resource file, as far as a running daemon
// can (config/config_change.h sorts them); `set-options` (disk-options, net-options) changes single options
// the same way. All or nothing: what cannot be applied changes nothing.
#include <fmt/format.h>

#include "common/log.h"
#include "config/config.h"
#include "config/config_change.h"
#include "config/resource_options.h"
#include "daemon/resource.h"
#include "daemon/resource_policies.h"

namespace tandem {

namespace {

std::string joined(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

}  // namespace

void Resource::adjust(const std::string& config_path, std::shared_ptr<ControlReply> reply) {
  const std::string& name = opts_.config.name;
  config::Config parsed;
  std::string error;
  if (!config::parse_file(config_path, &parsed, &error)) return reply->error(10, error);
  const config::ResourceConfig* next = parsed.find(name);
  if (!next) return reply->error(10, fmt::format("{} has no resource {}", config_path, name));
  if (!next->find_host(opts_.host))
    return reply->error(10, fmt::format("{}: resource {} has no 'on {}' section (this daemon runs as {})", config_path,
                                        name, opts_.host, opts_.host));
  if (apply_config(*next, /*connect=*/true, reply)) opts_.config_file = config_path;
}

// set-options SECTION KEY VALUE [KEY VALUE ...]: disk-options / net-options / resource-options.
void Resource::set_options(const std::vector<std::string>& words, std::shared_ptr<ControlReply> reply) {
  if (words.size() < 4 || words.size() % 2 != 0) return reply->error(1, "usage: set-options SECTION KEY VALUE...");
  const config::SectionKind section = words[1] == "net"       ? config::SectionKind::Net
                                      : words[1] == "disk"    ? config::SectionKind::Disk
                                      : words[1] == "options" ? config::SectionKind::Options
                                                              : config::SectionKind::Global;
  if (section == config::SectionKind::Global)
    return reply->error(1, fmt::format("set-options: no section '{}' (net, disk or options)", words[1]));
  config::ResourceConfig next = opts_.config;
  std::string error;
  for (size_t i = 2; i + 1 < words.size(); i += 2)
    if (!config::set_resource_option(&next, section, words[i], {words[i + 1]}, &error)) return reply->error(10, error);
  apply_config(next, /*connect=*/false, reply);
}

bool Resource::apply_config(const config::ResourceConfig& next, bool connect, std::shared_ptr<ControlReply> reply) {
  const std::string& name = opts_.config.name;
  std::string error;
  config::ConfigChange change = config::plan_config_change(opts_.config, next, opts_.host);
  if (!change.needs_down.empty()) {
    reply->error(11, fmt::format("these settings cannot change while the resource is up: {}; nothing was changed "
                                 "(run `down` and `up` to apply them)",
                                 joined(change.needs_down, "; ")));
    return false;
  }
  ReplicaConfig cfg;
  cfg.node_id = replica_->config().node_id;
  cfg.peer_node_id = replica_->config().peer_node_id;
  cfg.data_size_bytes = replica_->config().data_size_bytes;
  if (!replica_policies(next, &cfg, &error)) {
    reply->error(10, error);
    return false;
  }

  // The connection's settings, and those both peers agree on at the handshake, need a new connection.
  const bool reconnect = !change.reconnect.empty();
  const bool was_enabled = connector_->enabled();
  if (reconnect && was_enabled) connector_->disable("adjust: the connection's settings changed");
  if (std::string why = replica_->reconfigure(cfg); !why.empty()) {
    if (reconnect && was_enabled) connector_->enable();
    reply->error(11, why + "; nothing was changed");
    return false;
  }
  opts_.config = next;
  local_ = opts_.config.find_host(opts_.host);
  peer_ = config::peer_of(opts_.config, *local_);
  if (reconnect) connector_->set_config(peer_connector_config(opts_.config, *local_, *peer_));
  // As DRBD's adjust: a resource that is not connecting (after `disconnect`, a refused handshake or a split
  // brain) is connected again; disk-options and net-options leave that alone. A connection closed above for
  // new settings is made again in any case.
  const bool reopens = reconnect && was_enabled;
  const bool connects = connect && !was_enabled;
  if (reopens || connects) {
    replica_->set_standalone(false);
    connector_->enable();
  }

  std::string out;
  auto section = [&](std::string_view title, const std::vector<std::string>& items) {
    for (const std::string& s : items) {
      log_info("adjust: {}: {}", title, s);
      out += fmt::format("  {}: {}\n", title, s);
    }
  };
  section("applied", change.live);
  section("reconnected for", change.reconnect);
  section("at the next up", change.next_up);
  if (change.empty()) out += "  no changes\n";
  if (connects) {
    log_info("adjust: connecting to the peer");
    out += "  connecting to the peer\n";
  }
  reply->ok(fmt::format("{}: adjusted\n{}", name, out));
  return true;
}

}  // namespace tandem
