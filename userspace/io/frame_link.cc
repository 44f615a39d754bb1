#include "io/frame_link.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include "common/check.h"

namespace tandem {

FrameLink::FrameLink(UniqueFd fd, std::string peer_name, BufferPool* pool)
    : fd_(std::move(fd)), peer_name_(std::move(peer_name)), pool_(pool) {
  TANDEM_CHECK(!pool_ || pool_->buffer_bytes() >= wire::kMaxDataBytes);
  head_.resize(wire::kMaxEncodedFixedBytes);
}

FrameLink::~FrameLink() {
  if (block_ && pool_) pool_->put(block_);
}

void FrameLink::append_copy(const uint8_t* p, size_t n) {
  while (n > 0) {
    if (out_.empty() || out_.back().ext || out_.back().owned.size() == out_.back().owned.capacity()) {
      out_.emplace_back();
      out_.back().owned.reserve(std::max(kChunkBytes, std::min(n, wire::kMaxPayloadBytes + size_t(wire::kHeaderSize))));
    }
    auto& chunk = out_.back().owned;
    size_t take = std::min(n, chunk.capacity() - chunk.size());
    chunk.insert(chunk.end(), p, p + take);
    p += take;
    n -= take;
    queued_bytes_ += take;
  }
}

bool FrameLink::send(const wire::Message& m, bool zero_copy) {
  uint8_t head[wire::kMaxEncodedFixedBytes];
  uint32_t n = wire::encode(m, head, checksum_data_);
  uint32_t dl = wire::data_block_length(m);
  if (queued_bytes_ + n + dl > kMaxQueuedBytes) {
    error_ = fmt::format("send queue to {} exceeded {} MiB: the peer is not reading", peer_name_,
                         kMaxQueuedBytes >> 20);
    return false;
  }
  append_copy(head, n);
  if (dl) {
    const uint8_t* d = m.type == wire::MsgType::Data ? m.data.data : m.resync.data;
    if (zero_copy) {
      out_.emplace_back();
      out_.back().ext = d;
      out_.back().ext_len = dl;
      queued_bytes_ += dl;
    } else {
      append_copy(d, dl);
    }
  }
  return true;
}

bool FrameLink::on_writable() {
  while (queued_bytes_ > 0) {
    iovec iov[32];
    int cnt = 0;
    size_t off = out_head_offset_;
    for (auto it = out_.begin(); it != out_.end() && cnt < 32; ++it, off = 0) {
      if (it->size() == off) continue;
      iov[cnt].iov_base = const_cast<uint8_t*>(it->data()) + off;
      iov[cnt].iov_len = it->size() - off;
      cnt++;
    }
    ssize_t w = ::writev(fd_.get(), iov, cnt);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      if (errno == EINTR) continue;
      error_ = fmt::format("send to {} failed: {}", peer_name_, strerror(errno));
      return false;
    }
    queued_bytes_ -= static_cast<size_t>(w);
    size_t left = static_cast<size_t>(w);
    while (!out_.empty()) {
      size_t avail = out_.front().size() - out_head_offset_;
      if (left < avail) {
        out_head_offset_ += left;
        break;
      }
      left -= avail;
      out_.pop_front();
      out_head_offset_ = 0;
    }
  }
  return true;
}

bool FrameLink::receive(uint8_t* buf, size_t need, size_t* have, bool* blocked) {
  while (*have < need) {
    ssize_t r = ::recv(fd_.get(), buf + *have, need - *have, 0);
    if (r < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        *blocked = true;
        return true;
      }
      if (errno == EINTR) continue;
      error_ = fmt::format("receive from {} failed: {}", peer_name_, strerror(errno));
      return false;
    }
    if (r == 0) {
      error_ = fmt::format("{} closed the connection", peer_name_);
      return false;
    }
    received_something = true;
    queued_seen_ = 0;
    *have += static_cast<size_t>(r);
  }
  return true;
}

void FrameLink::set_rcv_lowat(int bytes) {
  if (bytes == rcv_lowat_) return;
  // On failure (not TCP, old kernel) the mark stays where it was: only wake-ups are affected, never data.
  if (setsockopt(fd_.get(), SOL_SOCKET, SO_RCVLOWAT, &bytes, sizeof bytes) == 0) rcv_lowat_ = bytes;
}

bool FrameLink::data_arriving() {
  if (rcv_lowat_ <= 1) return false;
  int queued = 0;
  if (ioctl(fd_.get(), FIONREAD, &queued) != 0 || queued <= queued_seen_) return false;
  queued_seen_ = queued;
  return true;
}

bool FrameLink::on_readable(const std::function<bool()>& may_deliver,
                            const std::function<void(const wire::Message&)>& deliver) {
  while (may_deliver()) {
    bool blocked = false;
    if (stage_ == RxStage::Header) {
      if (!receive(head_.data(), wire::kHeaderSize, &head_have_, &blocked)) return false;
      if (blocked) {
        set_rcv_lowat(1);  // the next frame may be shorter than any mark
        return true;
      }
      std::string err;
      if (!wire::decode_header(head_.data(), &rx_header_, &err)) {
        error_ = fmt::format("bad frame from {}: {}", peer_name_, err);
        return false;
      }
      rx_fixed_ = wire::fixed_payload_size(rx_header_.type);  // decode_header checked payload >= fixed
      stage_ = RxStage::Fixed;
    }
    if (stage_ == RxStage::Fixed) {
      if (!receive(head_.data(), wire::kHeaderSize + rx_fixed_, &head_have_, &blocked)) return false;
      if (blocked) return true;
      stage_ = RxStage::Block;
      block_have_ = 0;
      uint32_t block_len = rx_header_.payload_length - rx_fixed_;  // <= kMaxDataBytes (decode_header)
      if (block_len > 0) {
        if (pool_) {
          block_ = pool_->get();
        } else {
          private_block_.resize(wire::kMaxDataBytes);
          block_ = private_block_.data();
        }
      }
    }
    uint32_t block_len = rx_header_.payload_length - rx_fixed_;
    if (block_len > 0) {
      if (!receive(block_, block_len, &block_have_, &blocked)) return false;
      if (blocked) {
        size_t missing = block_len - block_have_;
        set_rcv_lowat(missing >= kMinRcvLowatBytes ? static_cast<int>(missing) : 1);
        return true;
      }
    }
    wire::Message m;
    std::string err;
    if (!wire::decode_payload_parts(rx_header_, head_.data() + wire::kHeaderSize, block_, &m, &err)) {
      error_ = fmt::format("bad frame from {}: {}", peer_name_, err);
      return false;
    }
    uint8_t* pooled = (block_len > 0 && pool_) ? block_ : nullptr;
    m.adoptable_buffer = pooled;
    block_ = nullptr;
    stage_ = RxStage::Header;
    head_have_ = 0;
    deliver(m);
    if (m.adoptable_buffer) pool_->put(m.adoptable_buffer);  // not adopted
  }
  return true;
}

}  // namespace tandem
