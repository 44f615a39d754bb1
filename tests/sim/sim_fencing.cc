// World: fencing seeds (`fencing resource-and-stonith`). The simulator plays the cluster manager that the
// daemon's fence-peer handler talks to (tools/ha/tandem-fence-peer with Pacemaker): it knows which nodes are
// alive, places a constraint that keeps the fenced node from being promoted (the random schedule honours it
// like Pacemaker would, except for --force), and lifts it when the unfence handlers run.
//
// The handler's answer, as the real one gives it when the cluster sees the truth:
//   peer down (crashed)       -> constraint, 5 (unreachable, assumed dead)
//   peer up and Primary       -> 6 (the caller must not carry on / be promoted)
//   peer up, not Primary      -> constraint, 4 (peer outdated: it will not be promoted)
// (A real partition of the cluster network is the STONITH case the handler cannot settle; see docs/ha.md.)
#include "tests/sim/sim_world.h"

namespace tandem::sim {

void World::on_fence_peer(int n) {
  if (fence_at_us_[n] != 0) fail(fmt::format("node {} started a second fence-peer handler", n));
  fence_at_us_[n] = now_us_ + rng_.between(100, 20000);
  trace("node {}: fence-peer handler started", n);
}

void World::fence_peer_answer(int n) {
  fence_at_us_[n] = 0;
  Node& x = *nodes_[n];
  if (!x.up()) return;  // the node died meanwhile; its handler died with it
  int peer = 1 - n;
  Node& p = *nodes_[peer];
  int code;
  if (!p.up()) {
    constraint_[peer] = true;
    code = 5;
  } else if (p.replica->role() == Role::Primary) {
    code = 6;
  } else {
    constraint_[peer] = true;
    code = 4;
  }
  trace("node {}: fence-peer answers {}{}", n, code, constraint_[peer] ? fmt::format(" (node {} kept from promotion)", peer) : "");
  x.replica->fence_peer_done(code);
}

void World::on_handler(int n, std::string_view name) {
  trace("node {}: handler {}", n, name);
  if (name == "after-resync-target" && constraint_[n]) {
    constraint_[n] = false;
    trace("model: constraint on node {} lifted (after-resync-target)", n);
  }
  if (name == "unfence-peer" && constraint_[1 - n]) {
    constraint_[1 - n] = false;
    trace("model: constraint on node {} lifted (unfence-peer)", 1 - n);
  }
}

// A frozen Primary's writes resumed: if it is still alone, its new lineage starts now (the core starts its new
// generation at that moment); reconnected first, there is none.
void World::resolve_pending_forks() {
  for (int n = 0; n < 2; n++) {
    if (!fork_pending_[n]) continue;
    Node& x = *nodes_[n];
    if (!x.up()) {
      fork_pending_[n] = false;
      continue;
    }
    ReplicaStatus s = x.replica->status();
    if (s.suspended_fencing) continue;
    fork_pending_[n] = false;
    if (s.conn != ConnState::Connected && s.role == Role::Primary) fork_generation(n, "frozen Primary resumed alone");
  }
}

}  // namespace tandem::sim
