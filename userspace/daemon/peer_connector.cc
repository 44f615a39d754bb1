#include "daemon/peer_connector.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/check.h"
#include "common/log.h"
#include "daemon/peer_auth.h"

namespace tandem {

namespace {

bool make_addr(const std::string& ip, uint16_t port, sockaddr_in* out) {
  *out = sockaddr_in{};
  out->sin_family = AF_INET;
  out->sin_port = htons(port);
  return inet_pton(AF_INET, ip.c_str(), &out->sin_addr) == 1;
}

std::string addr_name(const sockaddr_in& a) {
  char buf[INET_ADDRSTRLEN] = "?";
  inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
  return fmt::format("{}:{}", buf, ntohs(a.sin_port));
}

void tune_socket(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // Several 1 MiB data blocks in flight need socket buffers of that order, or every block costs a round of
  // EPOLLOUT wake-ups (DRBD's advice for sndbuf-size on fast links is the same). Root may exceed the
  // sysctl limits with the *FORCE variants; otherwise the kernel caps the request.
  int bytes = 8 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

}  // namespace

PeerConnector::PeerConnector(EventLoop* loop, PeerConnectorConfig cfg, PeerConnectorCallbacks cb, BufferPool* pool)
    : loop_(loop), cfg_(std::move(cfg)), cb_(std::move(cb)), pool_(pool) {}

PeerConnector::~PeerConnector() {
  if (link_) loop_->remove(link_->fd());
  if (connecting_fd_.valid()) loop_->remove(connecting_fd_.get());
  if (listener_.valid()) loop_->remove(listener_.get());
}

std::string PeerConnector::peer_name() const {
  return fmt::format("node {} ({}:{})", cfg_.peer_node_id, cfg_.peer_address, cfg_.peer_port);
}

void PeerConnector::enable() {
  if (enabled_) return;
  enabled_ = true;
  backoff_ms_ = 100;
  next_connect_ms_ = 0;
  try_listen();
  try_connect();
}

void PeerConnector::disable(const std::string& reason) {
  if (!enabled_) return;
  enabled_ = false;
  if (listener_.valid()) {
    loop_->remove(listener_.get());
    listener_.reset();
  }
  if (connecting_fd_.valid()) {
    loop_->remove(connecting_fd_.get());
    connecting_fd_.reset();
  }
  if (link_) close_link(reason);
  state_ = State::Idle;
}

void PeerConnector::set_config(PeerConnectorConfig cfg) {
  TANDEM_CHECK(!enabled_);
  cfg_ = std::move(cfg);
}

void PeerConnector::try_listen() {
  if (!enabled_ || listener_.valid()) return;
  sockaddr_in a;
  if (!make_addr(cfg_.local_address, cfg_.local_port, &a)) {
    log_error("invalid local address {}", cfg_.local_address);
    return;
  }
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // The buffer sizes must be on the listener, so accepted sockets inherit them: TCP fixes a connection's largest
  // receive window (its window clamp) when the handshake completes, from the receive buffer it has then. Set
  // only after accept(), the accepting node (the Secondary when the Primary has the lower node id) advertised
  // at most 64 KiB forever, which caps replication at 64 KiB per round trip (2 MiB/s at a 25 ms RTT).
  tune_socket(fd.get());
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd.get(), 4) != 0) {
    // The address may not be configured yet (interfaces coming up): retried on every tick.
    log_warn("cannot listen on {}: {} (will retry)", addr_name(a), strerror(errno));
    return;
  }
  listener_ = std::move(fd);
  loop_->add(listener_.get(), EPOLLIN, [this](uint32_t ev) { on_listener(ev); });
  log_info("listening on {}", addr_name(a));
}

void PeerConnector::try_connect() {
  if (!enabled_ || cfg_.node_id > cfg_.peer_node_id) return;  // the higher node id only accepts
  if (link_ || connecting_fd_.valid()) return;
  if (EventLoop::now_ms() < next_connect_ms_) return;
  sockaddr_in peer, local;
  if (!make_addr(cfg_.peer_address, cfg_.peer_port, &peer) || !make_addr(cfg_.local_address, 0, &local)) return;
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  // Bind the source address so the connection leaves through the configured replication network.
  bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local);
  tune_socket(fd.get());
  next_connect_ms_ = EventLoop::now_ms() + backoff_ms_;
  backoff_ms_ = std::min(backoff_ms_ * 2, cfg_.connect_interval_ms);
  int rc = connect(fd.get(), reinterpret_cast<sockaddr*>(&peer), sizeof peer);
  if (rc != 0 && errno != EINPROGRESS) {
    log_debug("connect to {} failed: {}", addr_name(peer), strerror(errno));
    return;
  }
  connecting_fd_ = std::move(fd);
  state_ = State::Connecting;
  state_since_ms_ = EventLoop::now_ms();
  loop_->add(connecting_fd_.get(), EPOLLOUT, [this](uint32_t ev) { on_connect_done(ev); });
}

void PeerConnector::on_connect_done(uint32_t) {
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(connecting_fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  loop_->remove(connecting_fd_.get());
  UniqueFd fd = std::move(connecting_fd_);
  if (err != 0) {
    log_debug("connect to {} failed: {}", peer_name(), strerror(err));
    state_ = State::Idle;
    return;
  }
  adopt(std::move(fd), fmt::format("{}:{}", cfg_.peer_address, cfg_.peer_port));
}

void PeerConnector::on_listener(uint32_t) {
  sockaddr_in from{};
  socklen_t len = sizeof from;
  UniqueFd fd(accept4(listener_.get(), reinterpret_cast<sockaddr*>(&from), &len, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!fd.valid()) return;
  std::string name = addr_name(from);
  char expected[INET_ADDRSTRLEN] = "";
  inet_ntop(AF_INET, &from.sin_addr, expected, sizeof expected);
  if (cfg_.peer_address != expected) {
    log_warn("refused connection from {}: not the configured peer address {}", name, cfg_.peer_address);
    return;
  }
  if (link_) {
    if (state_ == State::Established) {
      // Keep a working, authenticated connection rather than let an unauthenticated newcomer replace it. If the
      // peer restarted, the old connection fails soon (its kernel resets it, or keepalive notices) and the
      // peer's next attempt is accepted.
      log_warn("refused connection from {}: already connected to {}", name, peer_name());
      return;
    }
    close_link("peer reconnected");
  }
  tune_socket(fd.get());
  adopt(std::move(fd), name);
}

void PeerConnector::adopt(UniqueFd fd, const std::string& name) {
  link_ = std::make_unique<FrameLink>(std::move(fd), name, pool_);
  link_->set_checksum_data(cfg_.checksum_data);
  state_ = State::Handshake;
  state_since_ms_ = EventLoop::now_ms();
  link_->last_receive_ms = state_since_ms_;
  got_hello_ = got_auth_ = false;
  drop_pending_ = false;
  random_bytes(my_nonce_.data(), my_nonce_.size());
  interest_ = 0;
  loop_->add(link_->fd(), EPOLLIN, [this](uint32_t ev) { on_link_event(ev); });
  interest_ = EPOLLIN;
  wire::Message hello;
  hello.type = wire::MsgType::Hello;
  hello.hello.node_id = cfg_.node_id;
  hello.hello.expected_peer_node_id = cfg_.peer_node_id;
  hello.hello.nonce = my_nonce_;
  hello.hello.flags = cfg_.hmac_alg.empty() ? 0 : wire::kHelloHasSecret;
  link_->send(hello);
  update_interest();
}

void PeerConnector::update_interest() {
  if (!link_) return;
  uint32_t want = (cb_.can_accept() || state_ != State::Established ? uint32_t{EPOLLIN} : 0u) |
                  (link_->wants_write() ? uint32_t{EPOLLOUT} : 0u);
  if (want != interest_) {
    loop_->modify(link_->fd(), want);
    interest_ = want;
  }
}

void PeerConnector::handle_handshake(const wire::Message& m) {
  std::string peer = link_->peer_name();
  if (m.type == wire::MsgType::Hello && !got_hello_) {
    got_hello_ = true;
    if (m.hello.node_id != cfg_.peer_node_id || m.hello.expected_peer_node_id != cfg_.node_id) {
      drop(fmt::format("peer {} is node {} expecting node {}, but the config says node {} talks to node {}", peer,
                       m.hello.node_id, m.hello.expected_peer_node_id, cfg_.node_id, cfg_.peer_node_id));
      return;
    }
    bool peer_has_secret = m.hello.flags & wire::kHelloHasSecret;
    if (peer_has_secret != !cfg_.hmac_alg.empty()) {
      drop(fmt::format("authentication of peer {} failed: {} a shared secret but this node {}", peer,
                       peer_has_secret ? "it uses" : "it has no", cfg_.hmac_alg.empty() ? "has none" : "requires one"));
      return;
    }
    wire::Message auth;
    auth.type = wire::MsgType::Auth;
    if (!cfg_.hmac_alg.empty()) {
      std::vector<uint8_t> mac;
      std::string err;
      if (!compute_auth_mac(cfg_.hmac_alg, cfg_.secret, m.hello.nonce, cfg_.node_id, &mac, &err)) {
        drop(err);
        return;
      }
      auth.auth.mac_length = static_cast<uint32_t>(mac.size());
      std::copy(mac.begin(), mac.end(), auth.auth.mac.begin());
    }
    link_->send(auth);
    return;
  }
  if (m.type == wire::MsgType::Auth && got_hello_ && !got_auth_) {
    got_auth_ = true;
    if (!cfg_.hmac_alg.empty()) {
      std::vector<uint8_t> expected;
      std::string err;
      if (!compute_auth_mac(cfg_.hmac_alg, cfg_.secret, my_nonce_, cfg_.peer_node_id, &expected, &err)) {
        drop(err);
        return;
      }
      if (m.auth.mac_length != expected.size() ||
          !macs_equal(m.auth.mac.data(), expected.data(), expected.size())) {
        drop(fmt::format("authentication of peer {} failed: wrong shared secret (cram-hmac-alg {})", peer,
                         cfg_.hmac_alg));
        return;
      }
    }
    state_ = State::Established;
    backoff_ms_ = 100;
    link_->last_receive_ms = link_->last_send_ms = EventLoop::now_ms();
    log_info("connected to {} from {}{}", peer_name(), peer, cfg_.hmac_alg.empty() ? "" : ", peer authenticated");
    cb_.connected();
    return;
  }
  drop(fmt::format("protocol error: {} message from {} during the authentication handshake",
                   wire::type_name(m.type), peer));
}

void PeerConnector::on_link_event(uint32_t events) {
  if (!link_) return;
  uint64_t now = EventLoop::now_ms();
  if (events & EPOLLOUT) {
    if (!link_->on_writable()) {
      close_link(link_->error());
      return;
    }
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    auto may = [this] { return !drop_pending_ && (state_ != State::Established || cb_.can_accept()); };
    auto deliver = [this, now](const wire::Message& m) {
      link_->last_receive_ms = now;
      if (state_ != State::Established) {
        handle_handshake(m);
      } else if (m.type == wire::MsgType::Ping) {
        wire::Message ack;
        ack.type = wire::MsgType::PingAck;
        link_->send(ack);
      } else if (m.type == wire::MsgType::PingAck) {
        // Liveness only.
      } else if (m.type == wire::MsgType::Hello || m.type == wire::MsgType::Auth) {
        drop(fmt::format("protocol error: {} message after the handshake", wire::type_name(m.type)));
      } else {
        cb_.message(m);
      }
    };
    bool ok = link_->on_readable(may, deliver);
    if (link_ && link_->received_something) link_->last_receive_ms = now;
    if (!ok && !drop_pending_) {
      close_link(link_->error());
      return;
    }
  }
  if (drop_pending_) {
    // Flush what is queued (it may explain the drop to the peer), best effort, then close.
    link_->on_writable();
    close_link(drop_reason_);
    return;
  }
  if (link_->wants_write()) {
    if (!link_->on_writable()) {
      close_link(link_->error());
      return;
    }
  }
  update_interest();
}

void PeerConnector::send(const wire::Message& m, bool zero_copy) {
  if (!link_ || state_ != State::Established || drop_pending_) return;
  if (!link_->send(m, zero_copy)) {
    drop(link_->error());
    return;
  }
  link_->last_send_ms = EventLoop::now_ms();
  // Try to write right away: most messages fit the socket buffer and need no EPOLLOUT round trip.
  if (!link_->on_writable()) {
    drop(link_->error());
    return;
  }
  update_interest();
}

void PeerConnector::drop(const std::string& reason) {
  if (!link_ || drop_pending_) return;
  drop_pending_ = true;
  drop_reason_ = reason;
  // Complete the drop from the loop, outside the caller's stack.
  loop_->post([this] {
    if (link_ && drop_pending_) close_link(drop_reason_);
  });
}

void PeerConnector::kick() {
  if (link_ && state_ == State::Established) {
    update_interest();
    // Frames may already sit in the socket buffer without a new EPOLLIN edge; level-triggered epoll re-reports.
  }
}

void PeerConnector::close_link(const std::string& reason_ref) {
  if (!link_) return;
  const std::string reason = reason_ref;  // may refer into link_, which is destroyed below
  bool was_established = state_ == State::Established;
  if (reason.find("authentication") != std::string::npos) {
    uint64_t now = EventLoop::now_ms();
    if (now - last_auth_failure_log_ms_ > 5000) {
      log_error("{}", reason);
      last_auth_failure_log_ms_ = now;
    }
  } else if (!was_established) {
    log_warn("connection attempt with {} failed: {}", link_->peer_name(), reason);
  }
  loop_->remove(link_->fd());
  link_.reset();
  state_ = State::Idle;
  drop_pending_ = false;
  if (was_established) cb_.disconnected(reason);
}

void PeerConnector::tick() {
  if (!enabled_) return;
  uint64_t now = EventLoop::now_ms();
  try_listen();
  if (link_) {
    if (state_ != State::Established && now - state_since_ms_ > cfg_.handshake_timeout_ms) {
      close_link("handshake timed out");
    } else if (state_ == State::Established) {
      if (link_->data_arriving()) link_->last_receive_ms = now;  // a block is still coming in
      if (now - link_->last_receive_ms > cfg_.ping_interval_ms + std::max<uint64_t>(cfg_.ping_timeout_ms, 1000)) {
        close_link(fmt::format("no data or ping answer from the peer for {} ms", now - link_->last_receive_ms));
      } else if (now - link_->last_send_ms >= cfg_.ping_interval_ms / 2 && now - last_ping_sent_ms_ >= cfg_.ping_interval_ms / 2) {
        wire::Message ping;
        ping.type = wire::MsgType::Ping;
        last_ping_sent_ms_ = now;
        send(ping);
      }
    }
  } else if (connecting_fd_.valid() && now - state_since_ms_ > cfg_.handshake_timeout_ms) {
    loop_->remove(connecting_fd_.get());
    connecting_fd_.reset();
    state_ = State::Idle;
  }
  try_connect();
}

}  // namespace tandem
