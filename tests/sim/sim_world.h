// The simulated world of one seed: two nodes, the network, a simulated clock, the random schedule of
// application I/O and admin actions, and the model the checkers compare against.
//
// Pure and single-threaded: everything derives from the seed (std::mt19937_64), never from the wall clock,
// so one seed always produces the same trace (hash) and a failure replays exactly with `--seed N -v`.
// A checker that fails throws SimFailure naming the invariant; the driver prints the seed and replay command.
#pragma once

#include <fmt/format.h>

#include <array>
#include <optional>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "tests/sim/sim_model.h"
#include "tests/sim/sim_network.h"
#include "tests/sim/sim_node.h"
#include "tests/sim/sim_rng.h"

namespace tandem::sim {

struct SimFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct SimOptions {
  uint64_t seed = 1;
  bool verbose = false;
  double io_error_rate = 0;  // off by default: a fault-free run flags every connection drop (sim_io_errors: on)
  // A crashing node that is not Primary loses the unflushed writes in its disk cache. The core does not track
  // peer writes until the peer flushed them (DRBD's barrier acks), so this loses acknowledged data: see
  // tests/sim/README.md. Off = such nodes have a write-through cache (completed writes survive).
  bool secondary_cache_loss = true;
  // Proposed daemon fix (see README.md): an unclean restart of a node still flagged crashed_primary marks
  // every block out of sync again, as the first restart after the crash did. Off = today's Resource::start.
  bool remark_crashed_primary = false;
  // Nodes keep an activity log (small extents and set sizes drawn from the seed); off = as before the AL.
  bool activity_log = true;
};

struct SimStats {
  uint64_t events = 0, writes_acked = 0, reads_checked = 0, promotions = 0, forced_promotions = 0;
  uint64_t crashes = 0, clean_downs = 0, resyncs = 0, split_brains = 0, unrelated = 0, identical_checks = 0;
  uint64_t split_brains_one_side_unwritten = 0;
  uint64_t al_bounded_restarts = 0, al_checks = 0, al_transactions = 0;
};

class World {
 public:
  World(const SimOptions& opt);
  ~World();
  // Runs the whole seed: random schedule, then healing and the final checks. Throws SimFailure.
  void run();
  uint64_t trace_hash() const { return hash_; }
  const SimStats& stats() const { return stats_; }

  // ---- called by Node (Effects) ----
  void on_submit(int node, const StorageOp& op);
  void on_al_submit(int node, uint64_t tag, const meta::AlTransaction& tx);
  void al_done(int node);
  void on_send(int from, const wire::Message& m);
  void on_drop_request(int node, bool standalone, std::string_view reason);
  uint64_t new_uuid();
  void on_promotion_done(int node, bool ok, std::string_view message);
  void on_app_complete(AppOp* op, int result);
  // Fencing (resource-and-stonith seeds): the cluster manager's side, see sim_fencing.cc.
  void on_fence_peer(int node);
  void on_handler(int node, std::string_view name);

 private:
  // sim_world.cc: the event loop
  bool step(bool allow_actions);
  void after_event();
  void settle(uint64_t max_events);
  void connect();
  void drop_connection(const std::string& why, int crashed_node = -1);
  void deliver(int from);
  void observe_states();
  void maybe_schedule_connect();
  bool quiescent() const;
  template <typename... Args>
  void trace(fmt::format_string<Args...> f, Args&&... args) {
    trace_line(fmt::format(f, std::forward<Args>(args)...));
  }
  void trace_line(const std::string& s);

  // sim_actions.cc: the workload and admin actions
  void random_action();
  void issue_write(int n);
  void issue_read(int n);
  void issue_flush(int n);
  void promote(int n, bool force);
  void demote(int n);
  void crash(int n);
  void restart(int n);
  void clean_down(int n);
  void resolve_standalone();
  // The admin edits the resource file and runs `adjust` on node n (resync rate and controller, csums-alg).
  void adjust(int n);
  void heal();
  void fork_generation(int n, const char* why);
  // sim_fencing.cc
  void fence_peer_answer(int n);
  void resolve_pending_forks();
  // The model of node n forgets what it knew: each block may hold whatever its disk may show.
  void reset_model_to_disk(int n);

  // sim_checks.cc: the checkers
  void check_node_data(int n, bool full, const char* when);
  void check_identical(const char* when);
  // Delivers the peer's handshake State to node n and checks the outcome against the lineage model.
  void deliver_handshake(int n, const wire::Message& m, int peer_gen);
  void check_promotion(int n, bool ok, std::string_view message);
  void check_sync_finished(int n);
  void check_final();
  // Checker 5: everything that may differ between the nodes if node n crashed now lies in an extent of its
  // on-disk activity log or in its on-disk bitmap.
  void check_al_coverage(int n, const char* when);
  [[noreturn]] void fail(const std::string& what);

  SimOptions opt_;
  Rng rng_;
  uint64_t now_us_ = 0;
  uint64_t size_bytes_ = 0;
  // Half the seeds resync with csums-alg crc32c (digests first), chosen from the seed without touching rng_.
  DigestAlg csums_alg_ = DigestAlg::None;
  // A third of the seeds run with fencing resource-and-stonith and a modelled cluster manager (sim_fencing.cc).
  Fencing fencing_ = Fencing::DontCare;
  std::array<uint64_t, 2> fence_at_us_{};   // a fence-peer handler of node n answers then (0 = none running)
  std::array<bool, 2> constraint_{};         // the cluster keeps node n from being promoted (fence-peer)
  std::array<bool, 2> fork_pending_{};       // node n, a frozen Primary, starts its lineage when writes resume
  uint64_t disk_latency_min_us_ = 0, disk_latency_max_us_ = 0;
  uint64_t net_delay_min_us_ = 0, net_delay_max_us_ = 0;
  uint64_t action_gap_max_us_ = 0;
  uint32_t al_extents_ = 0, al_shift_ = 0;
  uint64_t next_action_us_ = 0;
  uint64_t connect_at_us_ = 0;  // 0 = no reconnection scheduled
  // What `adjust` gave node n (its resource file now says so: a restart keeps it); unset = the seed's settings.
  std::array<std::optional<ReplicaConfig>, 2> adjusted_{};
  // The daemon's 100 ms tick, simulated only while node n runs a rate-limited resync (0 = not scheduled).
  static constexpr uint64_t kTickUs = 100000;
  std::array<uint64_t, 2> next_tick_us_{};
  uint64_t actions_left_ = 0;

  std::array<std::unique_ptr<Node>, 2> nodes_;
  SimNetwork net_;
  bool drop_pending_ = false;
  std::string drop_reason_;

  // Model.
  std::array<DataModel, 2> model_;
  GenTree gens_;
  std::array<int, 2> gen_{GenTree::kRoot, GenTree::kRoot};
  std::array<int, 2> gen_in_handshake_{GenTree::kRoot, GenTree::kRoot};  // gen when the handshake State left
  std::array<bool, 2> usable_at_handshake_{false, false};
  struct SyncSnapshot {
    DataModel model;
    uint64_t max_version = 0;
    int gen = 0;
  };
  std::map<uint64_t, SyncSnapshot> sync_snapshots_;  // by the source's current UUID in SyncDone
  uint64_t next_version_ = 1;
  uint64_t next_op_id_ = 1;
  uint64_t writes_since_identical_check_ = 1;

  uint64_t hash_ = 1469598103934665603ULL;
  SimStats stats_;
};

}  // namespace tandem::sim
