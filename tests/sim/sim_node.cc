#include "tests/sim/sim_node.h"

#include "tests/sim/sim_world.h"

namespace tandem::sim {

void Node::submit_storage(const StorageOp& op) { world_->on_submit(id_, op); }
void Node::send(const wire::Message& m) { world_->on_send(id_, m); }
void Node::submit_al_transaction(uint64_t tag, const meta::AlTransaction& tx) { world_->on_al_submit(id_, tag, tx); }
void Node::drop_connection(bool standalone, std::string_view reason) {
  // As the daemon: standalone takes effect at once, the connection is closed after the current event.
  if (standalone) replica->set_standalone(true);
  world_->on_drop_request(id_, standalone, reason);
}
uint64_t Node::new_uuid() { return world_->new_uuid(); }
void Node::promotion_done(bool ok, std::string_view message) { world_->on_promotion_done(id_, ok, message); }
void Node::call_fence_peer() { world_->on_fence_peer(id_); }
void Node::run_handler(std::string_view name) { world_->on_handler(id_, name); }

}  // namespace tandem::sim
