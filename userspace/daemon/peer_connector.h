// Keeps the TCP connection to the peer: listens on this node's address, connects out (only the node with the
// lower node id dials, so the two never race to build two connections), authenticates both ends with an HMAC
// challenge over the shared secret, detects a dead peer with keepalive pings, and reconnects with backoff.
//
// Only an authenticated connection reaches the replication core (on_connected, then on_message for every
// frame). Threading: loop thread only.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "daemon/event_loop.h"
#include "io/frame_link.h"
#include "wire/message.h"

namespace tandem {

struct PeerConnectorConfig {
  uint32_t node_id = 0;
  uint32_t peer_node_id = 1;
  std::string local_address;
  uint16_t local_port = 0;
  std::string peer_address;
  uint16_t peer_port = 0;
  std::string hmac_alg;  // empty: no authentication (both sides must agree)
  std::string secret;
  uint64_t ping_interval_ms = 10000;
  uint64_t ping_timeout_ms = 500;
  uint64_t connect_interval_ms = 10000;  // longest reconnect backoff
  uint64_t handshake_timeout_ms = 10000;
  bool checksum_data = false;  // net data-integrity-alg set: CRC-32C over every data block too
};

struct PeerConnectorCallbacks {
  std::function<void()> connected;
  std::function<void(const wire::Message&)> message;
  std::function<void(const std::string& reason)> disconnected;
  std::function<bool()> can_accept;  // backpressure: false stops reading the socket
};

class PeerConnector {
 public:
  // `pool`: buffers for received data blocks (see FrameLink); must outlive the connector.
  PeerConnector(EventLoop* loop, PeerConnectorConfig cfg, PeerConnectorCallbacks cb, BufferPool* pool);
  ~PeerConnector();

  // Start (or stop) listening and connecting.
  void enable();
  void disable(const std::string& reason);
  bool enabled() const { return enabled_; }
  // adjust: new addresses, secret or keepalive settings. REQUIRES: disabled (they shape the next connection).
  void set_config(PeerConnectorConfig cfg);
  bool established() const { return link_ && state_ == State::Established; }
  size_t queued_bytes() const { return link_ ? link_->queued_bytes() : 0; }

  // Queues a message on the established connection; dropped silently when there is none.
  void send(const wire::Message& m, bool zero_copy = false);
  // Closes the connection after the current event (it may be called from inside a message callback).
  void drop(const std::string& reason);
  // Resumes reading after backpressure ended.
  void kick();
  void tick();
  std::string peer_name() const;

 private:
  enum class State { Idle, Connecting, Handshake, Established };
  void try_listen();
  void try_connect();
  void on_listener(uint32_t events);
  void adopt(UniqueFd fd, const std::string& name);
  void on_link_event(uint32_t events);
  void on_connect_done(uint32_t events);
  void handle_handshake(const wire::Message& m);
  void close_link(const std::string& reason);
  void update_interest();

  EventLoop* loop_;
  PeerConnectorConfig cfg_;
  PeerConnectorCallbacks cb_;
  BufferPool* pool_;
  bool enabled_ = false;
  UniqueFd listener_;
  UniqueFd connecting_fd_;
  std::unique_ptr<FrameLink> link_;
  State state_ = State::Idle;
  bool drop_pending_ = false;
  std::string drop_reason_;
  std::array<uint8_t, wire::kNonceBytes> my_nonce_{};
  bool got_hello_ = false, got_auth_ = false;
  uint64_t state_since_ms_ = 0;
  uint64_t next_connect_ms_ = 0;
  uint64_t backoff_ms_ = 100;
  uint64_t last_ping_sent_ms_ = 0;
  uint64_t last_auth_failure_log_ms_ = 0;
  uint32_t interest_ = 0;
};

}  // namespace tandem
