#include "daemon/resource_policies.h"

#include <fmt/format.h>

#include <cstdlib>

#include "common/log.h"
#include "config/keywords.h"
#include "meta/format.h"

namespace tandem {

namespace {

bool split_brain_policy(const config::ResourceConfig& rc, SplitBrainPolicy* p, std::string* error) {
  if (const std::string* v = rc.net.get("after-sb-0pri")) {
    std::string node;
    if (!parse_after_sb_0pri(*v, &p->pri0, &node)) {
      *error = fmt::format("resource {}: after-sb-0pri {} is not a policy tandem knows", rc.name, *v);
      return false;
    }
    if (p->pri0 == AfterSb0::DiscardNode) {
      const config::HostConfig* h = rc.find_host(node);
      if (!h) {
        *error = fmt::format("resource {}: after-sb-0pri discard-node-{} names no host of the resource", rc.name, node);
        return false;
      }
      p->discard_node_id = static_cast<uint32_t>(h->node_id);
    }
  }
  if (const std::string* v = rc.net.get("after-sb-1pri"); v && !parse_after_sb_1pri(*v, &p->pri1)) {
    *error = fmt::format("resource {}: after-sb-1pri {} is not a policy tandem knows", rc.name, *v);
    return false;
  }
  if (const std::string* v = rc.net.get("after-sb-2pri"); v && !parse_after_sb_2pri(*v, &p->pri2)) {
    *error = fmt::format("resource {}: after-sb-2pri {} is not a policy tandem knows", rc.name, *v);
    return false;
  }
  return true;
}

// verify-alg and csums-alg (net section), as kernel shash names; tandem knows crc32c, md5, sha1, sha256.
bool digest_policy(const config::ResourceConfig& rc, ReplicaConfig* cfg, std::string* error) {
  auto alg = [&](std::string_view key, DigestAlg* out) {
    const std::string* v = rc.net.get(key);
    if (!v) return true;
    if (digest_alg_from_name(*v, out)) return true;
    *error = fmt::format("resource {}: {} {} is not supported (tandem supports {})", rc.name, key, *v,
                         supported_digest_names());
    return false;
  };
  if (!alg("verify-alg", &cfg->verify_alg) || !alg("csums-alg", &cfg->csums_alg)) return false;
  const std::string* after_crash = rc.net.get("csums-after-crash-only");
  cfg->csums_after_crash_only = after_crash && (*after_crash == "yes" || *after_crash == "true");
  return true;
}

bool fencing_policy(const config::ResourceConfig& rc, Fencing* f, std::string* error) {
  const std::string* v = rc.net.get("fencing");
  if (!v || *v == "dont-care") {
    *f = Fencing::DontCare;
    return true;
  }
  *f = *v == "resource-only" ? Fencing::ResourceOnly : Fencing::ResourceAndStonith;
  const std::string* handler = rc.handlers.get("fence-peer");
  if (!handler || handler->empty()) {
    *error = fmt::format("resource {}: fencing {} needs a fence-peer handler (handlers {{ fence-peer \"...\"; }}), "
                         "which keeps the peer from promoting while this node carries on alone",
                         rc.name, *v);
    return false;
  }
  return true;
}

// DRBD's rate settings (KiB/s when no suffix; c-fill-target in 512-byte sectors; c-plan-ahead and
// c-delay-target in 0.1 s). c-plan-ahead 0 means the fixed resync-rate. The dynamic controller runs when
// c-plan-ahead is positive or any of c-fill-target, c-delay-target, c-min-rate is set, with DRBD's defaults
// for the others; with none of them set tandem keeps its simpler default: as fast as the window allows,
// c-max-rate (if set) as a ceiling.
bool resync_control(const config::ResourceConfig& rc, ReplicaConfig* cfg, std::string* error) {
  auto size = [&](std::string_view key, unsigned long long unit, unsigned long long fallback,
                  unsigned long long* out) {
    const std::string* v = rc.disk.get(key);
    *out = fallback;
    if (!v) return true;
    if (config::parse_size_bytes(*v, unit, out)) return true;
    *error = fmt::format("resource {}: {} {} is not a size", rc.name, key, *v);
    return false;
  };
  auto tenths = [&](std::string_view key, uint32_t fallback, uint32_t* out) {
    const std::string* v = rc.disk.get(key);
    *out = fallback;
    if (!v) return true;
    char* end = nullptr;
    unsigned long n = std::strtoul(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || n > 300) {
      *error = fmt::format("resource {}: {} {} must be 0..300 (tenths of a second)", rc.name, key, *v);
      return false;
    }
    *out = static_cast<uint32_t>(n);
    return true;
  };
  unsigned long long fixed = 0, max_rate = 0, fill = 0, min_rate = 0;
  uint32_t plan = 0, delay = 0;
  if (!size("resync-rate", 1024, 0, &fixed) || !size("c-max-rate", 1024, 0, &max_rate) ||
      !size("c-fill-target", 512, 0, &fill) || !size("c-min-rate", 1024, 250 * 1024, &min_rate) ||
      !tenths("c-plan-ahead", 20, &plan) || !tenths("c-delay-target", 10, &delay))
    return false;
  const bool plan_set = rc.disk.get("c-plan-ahead") != nullptr;
  const bool tuned = rc.disk.get("c-fill-target") || rc.disk.get("c-delay-target") || rc.disk.get("c-min-rate");
  ResyncControlConfig& d = cfg->dynamic_resync;
  if (plan_set && plan == 0) {
    cfg->resync_rate_bytes_per_s = fixed;
  } else if (plan_set || tuned) {
    if (delay == 0 && fill == 0) {
      *error = fmt::format("resource {}: c-delay-target 0 needs a c-fill-target (the controller has no target)",
                           rc.name);
      return false;
    }
    d.dynamic = true;
    d.fixed_rate_bytes_per_s = fixed;
    d.plan_ahead_steps = plan;
    d.fill_target_bytes = fill;
    d.delay_target_steps = delay;
    d.max_rate_bytes_per_s = max_rate ? max_rate : 100ull << 20;  // DRBD's default c-max-rate, 100 MiB/s
    d.min_rate_bytes_per_s = min_rate;
  } else {
    cfg->resync_rate_bytes_per_s = max_rate;
  }
  return true;
}

// disk { al-extents N; } (the parser checked DRBD's range 7..65534). As DRBD, more than the on-disk ring can
// describe (meta::kAlExtentsUsable with the 32 KiB ring) is reduced to that.
uint32_t al_extents(const config::ResourceConfig& rc) {
  uint32_t n = meta::kAlExtentsDefault;
  if (const std::string* v = rc.disk.get("al-extents")) n = static_cast<uint32_t>(std::stoul(*v));
  if (n > meta::kAlExtentsUsable) {
    log_warn("al-extents {} is more than the 32 KiB activity-log ring can describe; using {}", n,
             meta::kAlExtentsUsable);
    n = meta::kAlExtentsUsable;
  }
  return n;
}

}  // namespace

bool replica_policies(const config::ResourceConfig& rc, ReplicaConfig* cfg, std::string* error) {
  cfg->protocol = rc.net.protocol;
  if (!split_brain_policy(rc, &cfg->split_brain, error)) return false;
  if (!resync_control(rc, cfg, error)) return false;
  if (!fencing_policy(rc, &cfg->fencing, error)) return false;
  if (!digest_policy(rc, cfg, error)) return false;
  cfg->al_extents = al_extents(rc);
  return true;
}

PeerConnectorConfig peer_connector_config(const config::ResourceConfig& rc, const config::HostConfig& local,
                                          const config::HostConfig& peer) {
  PeerConnectorConfig pc;
  pc.node_id = static_cast<uint32_t>(local.node_id);
  pc.peer_node_id = static_cast<uint32_t>(peer.node_id);
  pc.local_address = local.address;
  pc.local_port = local.port;
  pc.peer_address = peer.address;
  pc.peer_port = peer.port;
  pc.hmac_alg = rc.net.cram_hmac_alg;
  pc.secret = rc.net.shared_secret;
  pc.ping_interval_ms = static_cast<uint64_t>(rc.net.ping_int_s) * 1000;
  pc.ping_timeout_ms = static_cast<uint64_t>(rc.net.ping_timeout_ds) * 100;
  pc.connect_interval_ms = static_cast<uint64_t>(rc.net.connect_int_s) * 1000;
  if (const std::string* dia = rc.net.get("data-integrity-alg")) {
    pc.checksum_data = true;
    if (*dia != "crc32c")
      log_info("data-integrity-alg {}: tandem checks replicated data with CRC-32C (its only algorithm)", *dia);
  }
  return pc;
}

}  // namespace tandem
