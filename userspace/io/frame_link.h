// One TCP connection carrying tandem wire frames: a bounded send queue drained with writev when the socket is
// writable, and a receive side that reassembles frames and decodes them with wire/codec.
//
// Copies are what limit replication throughput, so: data blocks may be queued by reference (send with
// zero_copy; the caller keeps the memory valid until the peer acknowledges it or the link is destroyed), and
// received data blocks are read straight into buffers of a shared BufferPool that the consumer may adopt
// (wire::Message::adoptable_buffer).
//
// Wake-ups cost more than the bytes they bring, so while a data block is arriving the link sets SO_RCVLOWAT to
// what is still missing of it (capped): the kernel then signals readability once, when the block is complete,
// instead of once per arriving segment. data_arriving() lets the owner's liveness check see bytes that wait
// below that mark.
//
// Non-blocking; driven by the resource loop through on_readable()/on_writable(). Not thread-safe.
// Bounds: the send queue holds at most kMaxQueuedBytes (beyond it, send() fails and the caller drops the
// connection: a peer that does not read is as good as dead); a data block is at most wire::kMaxDataBytes.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "core/buffer_pool.h"
#include "wire/codec.h"

namespace tandem {

class FrameLink {
 public:
  static constexpr size_t kMaxQueuedBytes = 256u << 20;
  static constexpr size_t kChunkBytes = 256u << 10;
  // A block with less than this still to come is read as it arrives (a raised mark would save little).
  static constexpr uint32_t kMinRcvLowatBytes = 64u << 10;

  // `pool` (may be null: blocks are then received into a private buffer) must hold buffers of at least
  // wire::kMaxDataBytes and outlive the link.
  FrameLink(UniqueFd fd, std::string peer_name, BufferPool* pool);
  ~FrameLink();
  int fd() const { return fd_.get(); }
  const std::string& peer_name() const { return peer_name_; }

  // Encodes and queues `m`. The data block is copied, unless `zero_copy`. False when the queue limit would be
  // exceeded.
  bool send(const wire::Message& m, bool zero_copy = false);
  // Whether data blocks are covered by the frame checksum (net option data-integrity-alg).
  void set_checksum_data(bool on) { checksum_data_ = on; }
  bool wants_write() const { return queued_bytes_ > 0; }
  size_t queued_bytes() const { return queued_bytes_; }

  // Writes as much as the socket takes. False on a socket error (error() says which).
  bool on_writable();
  // Reads and delivers complete frames until the socket would block or `may_deliver()` returns false.
  // Returns false when the connection ended or a frame was bad (error() says why; nothing from a bad frame
  // is delivered).
  bool on_readable(const std::function<bool()>& may_deliver, const std::function<void(const wire::Message&)>& deliver);
  const std::string& error() const { return error_; }
  // True when more bytes wait in the socket than at the last call while readability is held back for a block
  // (SO_RCVLOWAT raised): the peer is still sending, even though nothing was delivered or read.
  bool data_arriving();
  uint64_t last_receive_ms = 0;  // maintained by the owner (clock lives outside)
  uint64_t last_send_ms = 0;
  bool received_something = false;

 private:
  struct Segment {
    std::vector<uint8_t> owned;       // used when ext == nullptr
    const uint8_t* ext = nullptr;     // a caller's data block (zero-copy)
    size_t ext_len = 0;
    const uint8_t* data() const { return ext ? ext : owned.data(); }
    size_t size() const { return ext ? ext_len : owned.size(); }
  };
  void append_copy(const uint8_t* p, size_t n);
  // Receives into [buf + have, buf + need); false on error/EOF, sets *blocked when it would block.
  bool receive(uint8_t* buf, size_t need, size_t* have, bool* blocked);
  // Sets SO_RCVLOWAT (the kernel caps it at half the receive buffer and still wakes us when the window closes).
  void set_rcv_lowat(int bytes);

  UniqueFd fd_;
  std::string peer_name_;
  BufferPool* pool_;
  bool checksum_data_ = true;
  std::deque<Segment> out_;
  size_t out_head_offset_ = 0;
  size_t queued_bytes_ = 0;

  enum class RxStage { Header, Fixed, Block } stage_ = RxStage::Header;
  std::vector<uint8_t> head_;  // header + fixed fields of the frame being received
  size_t head_have_ = 0;
  uint8_t* block_ = nullptr;   // data block of the frame being received
  std::vector<uint8_t> private_block_;
  size_t block_have_ = 0;
  wire::FrameHeader rx_header_{};
  uint32_t rx_fixed_ = 0;
  int rcv_lowat_ = 1;       // as last set on the socket
  int queued_seen_ = 0;     // bytes waiting in the socket at the last data_arriving()
  std::string error_;
};

}  // namespace tandem
