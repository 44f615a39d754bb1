// Replica: the bitmap exchange at connect, as DRBD's. A set bit means "this block may differ between the two
// nodes", whichever node noticed it; so each node sends its out-of-sync bitmap right after its handshake State,
// and each ORs in what it receives. A bitmap-based sync source starts copying only after it has the target's
// bits too: e.g. the activity-log extents of a target that crashed as Primary, which exist only on that node.
// Only chunks that contain set bits travel; BitmapDone ends the stream (bounded: kBitmapChunkWords per chunk).
#include <fmt/format.h>

#include "common/log.h"
#include "core/replica.h"

namespace tandem {

void Replica::send_bitmap() {
  const std::vector<uint64_t>& words = bitmap_.words();
  for (size_t i = 0; i < words.size();) {
    if (words[i] == 0) {
      i++;
      continue;
    }
    wire::Message m;
    m.type = wire::MsgType::BitmapChunk;
    m.bitmap_chunk.first_word = i;
    m.bitmap_chunk.count = static_cast<uint32_t>(std::min<size_t>(wire::kBitmapChunkWords, words.size() - i));
    for (uint32_t k = 0; k < m.bitmap_chunk.count; k++) m.bitmap_chunk.words[k] = words[i + k];
    fx_->send(m);
    i += m.bitmap_chunk.count;
  }
  wire::Message d;
  d.type = wire::MsgType::BitmapDone;
  d.bitmap_done = {words.size(), bitmap_.count()};
  fx_->send(d);
}

void Replica::on_bitmap_chunk(const wire::BitmapChunk& c) {
  if (peer_bitmap_received_) {
    protocol_error("BitmapChunk after BitmapDone");
    return;
  }
  if (c.first_word + c.count > bitmap_.words().size()) {
    protocol_error(fmt::format("BitmapChunk words {}..{} beyond this node's {}-word bitmap", c.first_word,
                               c.first_word + c.count, bitmap_.words().size()));
    return;
  }
  // Chunks come in ascending order without overlap: so at most one entry per word is ever held.
  if (!peer_words_.empty() && c.first_word <= peer_words_.back().first) {
    protocol_error(fmt::format("BitmapChunk at word {} out of order", c.first_word));
    return;
  }
  for (uint32_t i = 0; i < c.count; i++)
    if (c.words[i] != 0) peer_words_.emplace_back(c.first_word + i, c.words[i]);
}

void Replica::on_bitmap_done(const wire::BitmapDone& d) {
  if (peer_bitmap_received_) {
    protocol_error("second BitmapDone on one connection");
    return;
  }
  if (d.total_words != bitmap_.words().size()) {
    protocol_error(fmt::format("peer's bitmap has {} words, this node's {}", d.total_words, bitmap_.words().size()));
    return;
  }
  peer_bitmap_received_ = true;
  for (auto [w, bits] : peer_words_) bitmap_.merge_words(w, &bits, 1);
  // Bits from the peer are outside our activity log: they must survive a crash of this node.
  if (!peer_words_.empty()) persist_bitmap_all();
  peer_words_.clear();
  peer_words_.shrink_to_fit();
  log_info("bitmap exchange with node {}: peer marked {} blocks; {} blocks out of sync now", cfg_.peer_node_id,
           d.set_bits, bitmap_.count());
  start_pending_resync();
}

// A sync source waiting for the peer's bitmap starts its resync once it has it and replication is Established
// (the peer's verify may be running: then when it ends).
void Replica::start_pending_resync() {
  if (!source_waits_for_bitmap_ || !peer_bitmap_received_ || repl_ != ReplState::Established) return;
  source_waits_for_bitmap_ = false;
  begin_sync_source(false);
}

}  // namespace tandem
