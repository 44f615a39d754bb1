// The simulated network between the two nodes: one ordered link per direction carrying real encoded frames
// (wire/codec), each delivered after a random delay but never before an earlier frame of the same direction.
// `cut` models a partition (no connection can be made); dropping the connection discards every frame in
// flight, as a TCP reset would.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "wire/message.h"

namespace tandem::sim {

struct Frame {
  uint64_t deliver_at_us = 0;
  std::vector<uint8_t> bytes;  // header + fixed fields + data block
};

class SimNetwork {
 public:
  bool connected() const { return connected_; }
  bool cut() const { return cut_; }
  uint64_t epoch() const { return epoch_; }  // increments at every connect and every drop

  void set_cut(bool cut) { cut_ = cut; }
  void connect();
  void drop();

  // Encodes `m` (copying its data block) into the queue from node `from`.
  void send(int from, const wire::Message& m, uint64_t deliver_at_us);
  const std::deque<Frame>& queue(int from) const { return q_[from]; }
  // Removes and decodes the head frame from `from`; the message's data pointers refer to `*storage`.
  wire::Message pop(int from, std::vector<uint8_t>* storage);
  bool empty() const { return q_[0].empty() && q_[1].empty(); }

 private:
  bool connected_ = false;
  bool cut_ = false;
  uint64_t epoch_ = 0;
  std::deque<Frame> q_[2];
};

}  // namespace tandem::sim
