// The resource file, translated into the settings of the replication core and of the peer link. Used when the
// daemon starts and again by `adjust`, so both read a resource file the same way.
#pragma once

#include <string>

#include "config/config.h"
#include "core/replica.h"
#include "daemon/peer_connector.h"

namespace tandem {

// The policy part of ReplicaConfig: protocol, split-brain policies, resync control, fencing, digests and
// al-extents. Node ids, data size and the activity log's last sequence number are the caller's. False with a
// message naming the resource and the setting when one is not usable.
bool replica_policies(const config::ResourceConfig& rc, ReplicaConfig* cfg, std::string* error);

// Addresses, authentication, keepalive and data-integrity-alg of the connection to the peer.
PeerConnectorConfig peer_connector_config(const config::ResourceConfig& rc, const config::HostConfig& local,
                                          const config::HostConfig& peer);

}  // namespace tandem
