// Replica: resource-level fencing (DRBD's `fencing resource-only | resource-and-stonith`) and the handlers
// around it. The node that carries on without its peer first has the fence-peer handler keep the peer from
// being promoted (in a Pacemaker cluster: a location constraint), so two nodes never both serve writes.
#include <fmt/format.h>

#include "common/check.h"
#include "common/log.h"
#include "core/replica.h"

namespace tandem {

namespace {

// DRBD's fence-peer exit codes.
constexpr int kPeerInconsistentOrOutdated = 3;
constexpr int kPeerOutdated = 4;
constexpr int kPeerUnreachable = 5;
constexpr int kPeerIsPrimary = 6;
constexpr int kPeerStonithed = 7;

std::string_view fence_result_meaning(int code) {
  switch (code) {
    case kPeerInconsistentOrOutdated: return "the peer's data is already Inconsistent or Outdated";
    case kPeerOutdated: return "the peer was outdated (kept from promoting)";
    case kPeerUnreachable: return "the peer is unreachable, assumed dead";
    case kPeerIsPrimary: return "the peer is Primary";
    case kPeerStonithed: return "the peer was fenced (STONITH)";
    default: return "fencing failed";
  }
}

}  // namespace

// A peer that may hold current data and has not been fenced since: someone must fence it before this node
// carries on alone.
bool Replica::needs_fencing() const { return cfg_.fencing != Fencing::DontCare && !ps_.peer_outdated; }

void Replica::start_fencing() {
  if (fence_pending_) return;
  fence_pending_ = true;
  log_warn("calling the fence-peer handler{}", io_frozen_ ? "; application writes are suspended until it answers"
                                                          : "");
  fx_->call_fence_peer();
  fx_->state_changed();
}

void Replica::fence_peer_done(int code) {
  if (!fence_pending_) {
    log_warn("ignoring a fence-peer result (exit {}) nobody waits for", code);
    return;
  }
  fence_pending_ = false;
  const bool connected = conn_ == ConnState::Connected;
  // DRBD counts "unreachable" as fenced only when this node's data is UpToDate (it is the survivor).
  const bool fenced = code == kPeerInconsistentOrOutdated || code == kPeerOutdated || code == kPeerStonithed ||
                      (code == kPeerUnreachable && disk_ == DiskState::UpToDate);
  if (connected) {
    log_info("fence-peer handler exited {} after the peer came back; result ignored", code);
  } else if (fenced) {
    log_info("fence-peer handler exited {}: {}", code, fence_result_meaning(code));
    ps_.peer_outdated = true;
    save();
  } else if (code < 0) {
    log_error("fence-peer handler did not complete ({}); the peer is not fenced", strerror(-code));
  } else {
    log_error("fence-peer handler exited {}: {}; the peer is not fenced", code, fence_result_meaning(code));
  }
  if (io_frozen_ && (fenced || connected)) unfreeze_io();
  if (io_frozen_)
    log_error("application writes stay suspended: fix fencing and run resume-io, or reconnect the peer");

  if (promote_after_fence_) {
    promote_after_fence_ = false;
    if (connected || fenced) {
      if (!connected && disk_ == DiskState::Consistent) set_disk(DiskState::UpToDate);
      promote(promote_force_);  // decides again, now without the need to fence
    } else if (code == kPeerIsPrimary) {
      fx_->promotion_done(false, "the fence-peer handler reports that the peer is Primary");
    } else {
      fx_->promotion_done(false, fmt::format("the fence-peer handler {} ({}): the peer might still be promoted, "
                                             "so this node will not be; fix fencing, or use --force",
                                             code < 0 ? "did not complete" : fmt::format("exited {}", code),
                                             code < 0 ? strerror(-code) : fence_result_meaning(code)));
    }
  }
  fx_->state_changed();
}

void Replica::unfreeze_io() {
  if (!io_frozen_) return;
  io_frozen_ = false;
  if (generation_pending_) {
    generation_pending_ = false;
    // Only while alone: a handshake in progress already sent the peer our generation (if it fails, losing the
    // connection starts the new generation then).
    if (conn_ != ConnState::Connected && role_ == Role::Primary) {
      ps_.ids.start_new_generation(fx_->new_uuid());
      ps_.primary_at_split = true;
      save();
    }
  }
  log_info("application writes resume");
  for (uint32_t i = 0; i < kMaxAppWrites; i++) maybe_finish_app_write(i);
  for (uint32_t i = 0; i < kMaxAppFlushes; i++) maybe_finish_app_flush(i);
  retry_waiting_writes();
  fx_->state_changed();
}

// resume-io ends every suspension, as DRBD's: suspend-io's, and the fencing freeze of a failed fence-peer.
std::string Replica::resume_io() {
  if (!io_frozen_ && !io_suspended_user_) return "application I/O is not suspended";
  if (io_suspended_user_) {
    io_suspended_user_ = false;
    log_info("resume-io: application writes continue");
  }
  if (io_frozen_) {
    log_warn("resume-io: application writes continue although the peer was not fenced");
    unfreeze_io();
  }
  retry_waiting_writes();
  fx_->state_changed();
  return "";
}

void Replica::lift_user_suspension() {
  if (!io_suspended_user_) return;
  io_suspended_user_ = false;
  log_warn("going down: writes held by suspend-io go on");
  retry_waiting_writes();
  fx_->state_changed();
}

std::string Replica::suspend_io() {
  if (io_suspended_user_) return "application I/O is already suspended";
  io_suspended_user_ = true;
  log_info("suspend-io: new application writes wait for resume-io");
  fx_->state_changed();
  return "";
}

// The peer holds current data again (resynced or reconnected without changes): lift the fencing.
void Replica::peer_is_up_to_date_again() {
  if (!ps_.peer_outdated) return;
  ps_.peer_outdated = false;
  save();
  fx_->run_handler("unfence-peer");
}

}  // namespace tandem
