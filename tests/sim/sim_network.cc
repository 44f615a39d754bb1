#include "tests/sim/sim_network.h"

#include <string>

#include "common/check.h"
#include "wire/codec.h"

namespace tandem::sim {

void SimNetwork::connect() {
  TANDEM_CHECK(!connected_ && !cut_);
  connected_ = true;
  epoch_++;
  q_[0].clear();
  q_[1].clear();
}

void SimNetwork::drop() {
  connected_ = false;
  epoch_++;
  q_[0].clear();
  q_[1].clear();
}

void SimNetwork::send(int from, const wire::Message& m, uint64_t deliver_at_us) {
  if (!connected_) return;
  Frame f;
  f.bytes.resize(wire::kMaxEncodedFixedBytes);
  uint32_t n = wire::encode(m, f.bytes.data());
  f.bytes.resize(n);
  uint32_t dl = wire::data_block_length(m);
  const uint8_t* d = m.type == wire::MsgType::Data ? m.data.data : m.resync.data;
  if (dl) f.bytes.insert(f.bytes.end(), d, d + dl);
  // In order per direction, like one TCP stream.
  if (!q_[from].empty() && q_[from].back().deliver_at_us > deliver_at_us) deliver_at_us = q_[from].back().deliver_at_us;
  f.deliver_at_us = deliver_at_us;
  q_[from].push_back(std::move(f));
}

wire::Message SimNetwork::pop(int from, std::vector<uint8_t>* storage) {
  TANDEM_CHECK(!q_[from].empty());
  *storage = std::move(q_[from].front().bytes);
  q_[from].pop_front();
  wire::FrameHeader h;
  wire::Message m;
  std::string err;
  TANDEM_CHECK_MSG(wire::decode_header(storage->data(), &h, &err), err.c_str());
  TANDEM_CHECK_MSG(wire::decode_payload(h, storage->data() + wire::kHeaderSize, &m, &err), err.c_str());
  return m;
}

}  // namespace tandem::sim
