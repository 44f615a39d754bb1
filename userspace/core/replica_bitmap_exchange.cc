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
  bitmap_.merge_words(c.first_word, c.words.data(), c.count);
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
  // Bits from the peer are outside our activity log: they must survive a crash of this node.
  if (d.set_bits > 0) persist_bitmap_all();
  log_info("bitmap exchange with node {}: peer marked {} blocks; {} blocks out of sync now", cfg_.peer_node_id,
           d.set_bits, bitmap_.count());
  if (source_waits_for_bitmap_) {
    source_waits_for_bitmap_ = false;
    if (repl_ == ReplState::Established) begin_sync_source(false);
  }
}

}  // namespace tandem
