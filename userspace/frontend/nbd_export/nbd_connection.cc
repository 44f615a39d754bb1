#include "frontend/nbd_export/nbd_connection.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/check.h"
#include "common/log.h"
#include "frontend/nbd_export/nbd_codec.h"
#include "frontend/nbd_export/nbd_socket_io.h"

namespace tandem::nbd {

namespace {
// A misbehaving client could otherwise fill the log with one line per bad request.
constexpr uint32_t kMaxRefusalsLogged = 20;

const char* op_name(IoOp op) {
  switch (op) {
    case IoOp::Read: return "read";
    case IoOp::Write: return "write";
    case IoOp::Flush: return "flush";
    case IoOp::Trim: return "trim";
    case IoOp::WriteZeroes: return "write-zeroes";
  }
  return "?";
}
}  // namespace

Connection::Connection(UniqueFd fd, BlockTarget* target, const ConnectionConfig* config, std::string client)
    : fd_(std::move(fd)),
      target_(target),
      config_(config),
      client_(std::move(client)),
      slots_(config->slots),
      big_buffers_(config->slot_keep_bytes) {
  TANDEM_CHECK(config_->slots > 0);
  free_.reserve(slots_.size());
  for (Slot& slot : slots_) {
    slot.conn = this;
    slot.req.on_complete = &Connection::on_complete;
    slot.req.frontend_ctx = &slot;
    free_.push_back(&slot);
  }
}

void Connection::run() {
  int fd = fd_.get();
  set_recv_timeout(fd, config_->handshake_timeout_ms);
  set_send_timeout(fd, config_->send_timeout_ms);
  ExportState state;
  state.size_bytes = target_->size_bytes();
  state.transmission_flags = transmission_flags_for(target_->writable());
  if (config_->skip_handshake ||
      run_handshake(fd, config_->handshake, state, client_) == HandshakeOutcome::Transmission) {
    size_bytes_ = state.size_bytes;
    read_only_ = (state.transmission_flags & kTxReadOnly) != 0;
    log_info("{}: connected, export size {} bytes{}", client_, size_bytes_, read_only_ ? ", read-only" : "");
    set_recv_timeout(fd, 0);  // Idle clients are legitimate once connected.
    serve();
  }
  wait_for_inflight();
  broken_ = true;
  ::shutdown(fd, SHUT_RDWR);
}

void Connection::request_stop(std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard<std::mutex> lock(slots_mu_);
    stop_requested_ = true;
    stop_deadline_ = deadline;
  }
  slots_cv_.notify_all();
  broken_ = true;
  ::shutdown(fd_.get(), SHUT_RDWR);  // Wakes the reader out of recv().
}

bool Connection::drained() {
  std::lock_guard<std::mutex> lock(slots_mu_);
  return inflight_ == 0;
}

void Connection::serve() {
  int fd = fd_.get();
  for (;;) {
    uint8_t header[kRequestBytes];
    int rc = recv_all(fd, header, sizeof header);
    if (rc != 0) {
      if (rc == -ECONNRESET) {
        log_info("{}: disconnected without NBD_CMD_DISC", client_);
      } else if (!broken_) {
        log_warn("{}: reading a request failed: {}", client_, std::strerror(-rc));
      }
      return;
    }
    Request r;
    if (!decode_request(header, &r)) {
      // The stream is out of sync; nothing after this can be trusted.
      log_warn("{}: request with bad magic {:#010x}; disconnecting", client_,
               uint32_t(header[0]) << 24 | uint32_t(header[1]) << 16 | uint32_t(header[2]) << 8 | header[3]);
      return;
    }
    RequestVerdict v = check_request(r, size_bytes_, config_->max_payload_bytes, read_only_);
    switch (v.action) {
      case RequestVerdict::Action::Disc:
        log_info("{}: client disconnected (NBD_CMD_DISC)", client_);
        return;
      case RequestVerdict::Action::Disconnect:
        log_warn("{}: {} (type {}, offset {}, length {}); disconnecting", client_, v.reason, r.type, r.offset,
                 r.length_bytes);
        return;
      case RequestVerdict::Action::ReplyError:
        log_refusal(v.reason, r.cookie);
        if (request_has_payload(r)) {
          rc = recv_discard(fd, r.length_bytes);
          if (rc != 0) {
            log_warn("{}: reading a refused write's payload failed: {}", client_, std::strerror(-rc));
            return;
          }
        }
        if (!send_reply(v.error, r.cookie)) return;
        continue;
      case RequestVerdict::Action::ReplyOk:
        if (!send_reply(kErrNone, r.cookie)) return;
        continue;
      case RequestVerdict::Action::Submit:
        break;
    }

    bool has_data = v.op == IoOp::Read || v.op == IoOp::Write;
    Slot* slot = acquire_slot(has_data ? r.length_bytes : 0);
    if (slot == nullptr) return;  // Stopping.
    slot->cookie = r.cookie;
    IoRequest& req = slot->req;
    req.op = v.op;
    req.fua = (r.flags & kCmdFlagFua) != 0 && v.op != IoOp::Read && v.op != IoOp::Flush;
    req.offset = v.op == IoOp::Flush ? 0 : r.offset;
    req.length = v.op == IoOp::Flush ? 0 : r.length_bytes;
    req.data = !has_data ? nullptr : slot->pooled ? slot->pooled : slot->buffer.data();
    req.target_ctx = 0;
    if (v.op == IoOp::Write) {
      rc = recv_all(fd, req.data, req.length);
      if (rc != 0) {
        log_warn("{}: reading a write's payload failed: {}", client_, std::strerror(-rc));
        release_slot(slot);
        return;
      }
    }
    target_->submit(&req);
  }
}

Connection::Slot* Connection::acquire_slot(uint32_t payload_bytes) {
  Slot* slot = nullptr;
  const bool use_pool = payload_bytes > kSmallPayloadBytes && payload_bytes <= config_->slot_keep_bytes;
  {
    std::unique_lock<std::mutex> lock(slots_mu_);
    // A request larger than the whole budget still runs, alone, so no valid request can wait forever.
    slots_cv_.wait(lock, [&] {
      return stop_requested_ ||
             (!free_.empty() && (inflight_ == 0 || inflight_bytes_ + payload_bytes <= config_->max_inflight_bytes));
    });
    if (stop_requested_) return nullptr;
    slot = free_.back();
    free_.pop_back();
    inflight_++;
    inflight_bytes_ += payload_bytes;
    if (use_pool) slot->pooled = big_buffers_.get();
  }
  slot->payload_bytes = payload_bytes;
  // Grows only: vector::resize keeps the allocation when the size shrinks.
  if (!use_pool && slot->buffer.size() < payload_bytes) slot->buffer.resize(payload_bytes);
  return slot;
}

void Connection::release_slot(Slot* slot) {
  if (slot->buffer.size() > std::min(kSmallPayloadBytes, config_->slot_keep_bytes))
    decltype(slot->buffer)().swap(slot->buffer);
  std::lock_guard<std::mutex> lock(slots_mu_);
  big_buffers_.put(slot->pooled);
  slot->pooled = nullptr;
  TANDEM_CHECK(inflight_ > 0);
  TANDEM_CHECK(inflight_bytes_ >= slot->payload_bytes);
  inflight_--;
  inflight_bytes_ -= slot->payload_bytes;
  free_.push_back(slot);
  // Notify while holding the lock: once we unlock, the reader may see inflight_ == 0 and the owner may
  // destroy this object, so nothing here may touch it after the unlock.
  slots_cv_.notify_all();
}

void Connection::wait_for_inflight() {
  std::unique_lock<std::mutex> lock(slots_mu_);
  while (inflight_ > 0) {
    if (!stop_requested_) {
      slots_cv_.wait(lock);
    } else if (slots_cv_.wait_until(lock, stop_deadline_) == std::cv_status::timeout && inflight_ > 0) {
      log_error("{}: {} request(s) still owned by the target after the stop deadline", client_, inflight_);
      return;
    }
  }
}

bool Connection::send_reply(uint32_t error, uint64_t cookie) {
  uint8_t reply[kSimpleReplyBytes];
  encode_simple_reply(reply, {error, cookie});
  std::lock_guard<std::mutex> lock(write_mu_);
  if (broken_) return false;
  int rc = send_all(fd_.get(), reply, sizeof reply);
  if (rc != 0) mark_broken("sending a reply", rc);
  return rc == 0;
}

void Connection::on_complete(IoRequest* req, int result) {
  Slot* slot = static_cast<Slot*>(req->frontend_ctx);
  slot->conn->complete(slot, result);
}

void Connection::complete(Slot* slot, int result) {
  TANDEM_CHECK(result <= 0);
  uint32_t error = error_from_errno(result);
  if (error != kErrNone && failures_logged_.fetch_add(1) < kMaxRefusalsLogged) {
    log_warn("{}: {} at offset {} length {} failed: {}", client_, op_name(slot->req.op), slot->req.offset,
             slot->req.length, std::strerror(-result));
  }
  encode_simple_reply(slot->reply, {error, slot->cookie});
  struct iovec iov[2] = {{slot->reply, kSimpleReplyBytes}, {nullptr, 0}};
  if (slot->req.op == IoOp::Read && error == kErrNone) iov[1] = {slot->req.data, slot->req.length};
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    if (!broken_) {
      int rc = send_all(fd_.get(), iov, 2);
      if (rc != 0) mark_broken("sending a reply", rc);
    }
  }
  release_slot(slot);
}

void Connection::mark_broken(const char* why, int rc) {
  if (broken_.exchange(true)) return;
  if (rc == -EPIPE || rc == -ECONNRESET) {
    log_info("{}: client went away while {}", client_, why);
  } else {
    log_warn("{}: {} failed: {}; dropping the client", client_, why, std::strerror(-rc));
  }
  ::shutdown(fd_.get(), SHUT_RDWR);  // Wakes the reader so it stops accepting requests.
}

void Connection::log_refusal(const char* reason, uint64_t cookie) {
  if (refusals_logged_ >= kMaxRefusalsLogged) return;
  refusals_logged_++;
  log_warn("{}: refusing request {:#x}: {}{}", client_, cookie, reason,
           refusals_logged_ == kMaxRefusalsLogged ? " (further refusals not logged)" : "");
}

}  // namespace tandem::nbd
