// The replication core of one resource on one node: roles, disk/connection/replication states, the life of
// every application and peer request, the connect-time sync decision and the resync engine.
//
// Pure: it owns no thread, socket, file or clock. Events come in through the public methods; everything it wants
// done goes out through Effects. The daemon calls it from one loop thread, the simulator from its scheduler.
// Same events in the same order ⇒ same effects.
//
// Invariants (checked with TANDEM_CHECK):
// - Only a Primary accepts application writes, and it never is a SyncTarget.
// - Overlapping writes are applied in the same order on both nodes: on the Primary a write waits for every
//   overlapping earlier write's local completion and for any resync read of the range to be sent; on the
//   peer, overlapping writes are submitted in arrival order.
// - A block written while the peer does not receive it, or whose mirroring was not acknowledged before the
//   connection broke, is set in the dirty bitmap.
// - In-flight tables are bounded (kMaxAppWrites, kMaxPeerWrites, kResyncWindow); beyond them requests wait.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "common/digest.h"
#include "core/activity_log.h"
#include "core/buffer_pool.h"
#include "core/dirty_bitmap.h"
#include "core/effects.h"
#include "core/resync_controller.h"
#include "core/generation.h"
#include "core/split_brain.h"
#include "core/states.h"

namespace tandem {

// DRBD's `net { fencing ...; }`. With DontCare a Secondary that loses its Primary marks itself Outdated (it
// cannot know whether the Primary writes on). With fencing the Secondary stays UpToDate and the cluster
// manager is responsible: the node that wants to carry on alone (a Primary that lost its peer, or a node
// promoted while disconnected) first runs the fence-peer handler, which must keep the peer from promoting.
// ResourceAndStonith also freezes application writes until the handler has answered.
enum class Fencing : uint8_t { DontCare, ResourceOnly, ResourceAndStonith };

struct ReplicaConfig {
  uint32_t node_id = 0;
  uint32_t peer_node_id = 1;
  char protocol = 'C';
  uint64_t data_size_bytes = 0;
  SplitBrainPolicy split_brain;
  // Fixed resync rate (DRBD's resync-rate with c-plan-ahead 0); 0 = as fast as the window allows.
  uint64_t resync_rate_bytes_per_s = 0;
  Fencing fencing = Fencing::DontCare;
  // The dynamic resync controller (c-plan-ahead > 0 and c-*); when enabled it replaces the fixed rate.
  ResyncControlConfig dynamic_resync;
  DigestAlg verify_alg = DigestAlg::Crc32c;  // verify-alg
  // csums-alg: the sync source compares digests with the target first and sends only differing blocks.
  DigestAlg csums_alg = DigestAlg::None;
  bool csums_after_crash_only = false;  // csums-after-crash-only: only for the resync after a Primary crash
  // Activity log: al-extents in use (0 = none: an unclean stop then needs a full resync), the extent size, and
  // the newest transaction found in the on-disk ring.
  uint32_t al_extents = 0;
  uint32_t al_extent_shift = meta::kAlExtentShift;
  uint64_t al_last_seq = 0;
};

struct ReplicaStatus {
  Role role = Role::Secondary;
  DiskState disk = DiskState::Inconsistent;
  ConnState conn = ConnState::StandAlone;
  ReplState repl = ReplState::Off;
  Role peer_role = Role::Unknown;
  DiskState peer_disk = DiskState::DUnknown;
  GenerationIds ids;
  uint64_t out_of_sync_bytes = 0;  // this node's dirty bitmap
  uint64_t resync_total_bytes = 0;
  uint64_t resync_done_bytes = 0;
  bool resync_paused = false;        // pause-sync on the sync source (shown as PausedSyncS)
  uint64_t resync_rate_bytes_per_s = 0;  // measured over the last second
  uint64_t verify_total_bytes = 0;   // online verify progress (VerifyS)
  uint64_t verify_done_bytes = 0;
  uint64_t verify_out_of_sync_bytes = 0;  // found by the last/current verify
  uint64_t app_writes_in_flight = 0;
  uint64_t bytes_sent = 0;          // data blocks sent to the peer (replication + resync)
  uint64_t bytes_received = 0;      // data blocks received from the peer
  uint64_t resync_bytes_sent = 0;
  uint64_t resync_bytes_received = 0;
  uint64_t resync_csum_equal_bytes = 0;  // csums-alg: blocks found equal, not sent
  uint64_t disk_write_bytes = 0;
  uint64_t disk_read_bytes = 0;
  bool suspended_split_brain = false;
  bool suspended_fencing = false;  // application writes frozen until the fence-peer handler answers
  bool suspended_user = false;     // suspend-io: new application writes held until resume-io
  bool fencing_in_progress = false;
  uint32_t al_extents = 0;            // activity log: size of the set (0 = no activity log)
  uint32_t al_active = 0;             // extents in it now
  uint64_t al_transactions = 0;       // AL transactions written by this run
  uint64_t al_waits = 0;              // writes that waited for a cold extent to be evicted
  std::string last_decision;        // why the last connect decided what it did
};

class Replica {
 public:
  static constexpr uint32_t kMaxAppWrites = 512;
  static constexpr uint32_t kMaxAppFlushes = 64;
  static constexpr uint32_t kMaxPeerWrites = 512;
  // Received data blocks held in memory until written (each buffer is kMaxDataBytes): bounds the
  // Secondary's memory at 128 MiB whatever the write sizes.
  static constexpr uint32_t kMaxPeerDataBuffers = 128;
  static constexpr uint32_t kResyncWindow = 16;
  static constexpr uint32_t kResyncChunkBytes = 256 * 1024;
  // Protocol A completes writes before the peer has them; beyond this much unsent data new writes wait, so
  // a slow link slows the application instead of overflowing the transport's queue.
  static constexpr size_t kMaxSendBacklogBytes = 64u << 20;

  Replica(const ReplicaConfig& config, const PersistentState& loaded, Effects* fx);
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;
  ~Replica();

  // ---- events ----
  void app_request(IoRequest* req);
  void storage_done(uint64_t tag, int result);
  // The transport authenticated a peer connection; the core starts the handshake.
  void peer_connected();
  void peer_message(const wire::Message& m);
  void peer_disconnected(std::string_view reason);
  // False while the peer-request table is full: the driver stops reading the socket (backpressure).
  bool can_accept_peer_message() const;
  // The transport drained some of its queue: writes held back by protocol A backpressure may start.
  void send_queue_drained() {
    if (!waiting_.empty()) retry_waiting_writes();
  }

  // ---- admin ----
  // Starts a promotion; the outcome arrives through Effects::promotion_done (possibly before this returns).
  void promote(bool force);
  // Returns an empty string on success, else why not.
  std::string demote(int device_open_count);
  // Abandons a pending promotion (shutdown): it is answered as refused.
  void cancel_promotion(std::string_view why);
  void set_standalone(bool standalone);
  // DRBD's data admin commands; each returns an empty string on success, else why it was refused.
  // invalidate: discard local data, become SyncTarget (full) at the next handshake (reconnects if connected).
  std::string invalidate();
  // invalidate-remote: ask the connected peer to invalidate itself (this node becomes SyncSource).
  std::string invalidate_remote();
  // outdate: mark consistent data Outdated (it then refuses promotion without --force).
  std::string outdate();
  // new-current-uuid: start a new data generation. With clear_bitmap, on two connected fresh nodes, declare
  // both UpToDate without the initial sync (for disks known to be identical, e.g. both zeroed).
  std::string new_current_uuid(bool clear_bitmap);
  // verify: compare both replicas online (CRC-32C per 4 KiB block) and mark differing blocks out of sync in
  // this node's bitmap, as DRBD's verify does; they are copied from this node at the next reconnect. Run it on
  // the node whose data is right (normally the Primary). The out-of-sync handler runs at the end if any differ.
  std::string start_verify();
  // adjust: takes the policies of `next` (ReplicaConfig's policy part; node ids and data size must be the
  // running ones). The settings the peers agree on at the handshake (protocol, verify-alg, csums-alg) change
  // only while not connected: the daemon disconnects first, so it is refused only when that was not done. A
  // fence-peer handler already running finishes under its own rules. The activity log keeps its size until
  // the next start. Returns an empty string on success, else why nothing was changed.
  std::string reconfigure(const ReplicaConfig& next);
  const ReplicaConfig& config() const { return cfg_; }
  // pause-sync / resume-sync on the sync source.
  std::string pause_sync();
  std::string resume_sync();
  // Time passes (the daemon calls this every 100 ms): paces a fixed-rate resync and measures the rate.
  void tick(uint64_t now_ms);
  // A rate-limited resync runs on this node: it advances only with tick() (the simulator ticks only then).
  bool resync_needs_ticks() const { return rate_limited() && repl_ == ReplState::SyncSource && !resync_paused_; }

  // The fence-peer handler started through Effects::call_fence_peer exited with this code (DRBD's meaning:
  // 3 peer already Outdated/Inconsistent, 4 peer outdated, 5 peer unreachable, 6 peer is Primary, 7 peer
  // fenced by STONITH; anything else: fencing failed; negative: the handler could not run or timed out).
  void fence_peer_done(int exit_code);
  // resume-io: release application writes held by suspend-io, or frozen by resource-and-stonith fencing whose
  // handler failed.
  std::string resume_io();
  // suspend-io (DRBD's, e.g. for a snapshot of the backing device): application writes and flushes that
  // arrive are held, in order, until resume-io; those in flight complete. Reads go on. Not persistent.
  std::string suspend_io();
  // A forced shutdown: writes held by suspend-io go on (they complete or fail with the device), so nothing
  // waits for a resume-io that cannot come.
  void lift_user_suspension();

  // `connect --discard-my-data`: if the next handshake finds a split brain, this node gives up its changes and
  // becomes the target of a full resync (manual split-brain recovery, as in DRBD). One-shot.
  void set_discard_my_data(bool on) { discard_my_data_ = on; }
  void load_bitmap(const std::vector<uint64_t>& words) { bitmap_.load_words(words); }
  void mark_all_out_of_sync() { bitmap_.set_all(); }
  // After an unclean stop: marks every block of these activity-log extents out of sync.
  void mark_extents_out_of_sync(const std::vector<uint32_t>& extents);
  // Starts the activity log after attach: persists the bitmap (so the marks taken from the old AL survive)
  // and writes transactions describing the empty active set over the old ring.
  void start_activity_log();
  const ActivityLog* activity_log() const { return al_ ? &*al_ : nullptr; }
  const DirtyBitmap& bitmap() const { return bitmap_; }

  // ---- observation ----
  ReplicaStatus status() const;
  Role role() const { return role_; }
  DiskState disk() const { return disk_; }
  bool writable() const { return role_ == Role::Primary; }
  const PersistentState& persistent() const { return ps_; }
  // Buffers of kMaxDataBytes for received data blocks; a transport may receive into them (see
  // wire::Message::adoptable_buffer) so the core adopts them without copying.
  BufferPool* data_buffer_pool() { return &peer_buffers_; }
  bool idle() const;  // no application or peer I/O in flight

 private:
  struct AppWrite {
    bool used = false;
    IoRequest* req = nullptr;  // null once completed to the application (entry may wait for the peer's ack)
    uint64_t offset = 0, length = 0;
    uint64_t first_seq = 0;
    uint32_t acks_pending = 0;       // WriteAcks still expected
    uint32_t recv_acks_pending = 0;  // RecvAcks still expected (protocol B)
    bool local_done = false;
    int local_result = 0;
    bool mirrored = false;  // sent to the peer in this connection epoch
    bool al_held = false;   // holds its activity-log extents until the slot is freed
    bool oversize = false;  // too many extents for the AL: its range is kept marked in the bitmap instead
    bool peer_failed = false;  // the peer reported an error writing it
    uint64_t epoch = 0;
  };
  struct AppFlush {
    bool used = false;
    IoRequest* req = nullptr;
    uint64_t seq = 0;
    uint64_t al_token = 0;  // ActivityLog::flush_token() when submitted
    bool local_done = false, remote_pending = false;
    int result = 0;
  };
  struct PeerWrite {
    bool used = false;
    bool submitted = false;
    bool resync = false;
    uint64_t arrival = 0, epoch = 0, seq = 0;
    uint64_t offset = 0;
    uint32_t length = 0;
    uint32_t flags = 0;
    uint8_t* buf = nullptr;
  };
  struct PeerFlush {
    uint64_t seq = 0, arrival = 0, epoch = 0;
    bool submitted = false;
  };
  using BlockDigests = std::array<uint8_t, wire::kVerifyDigestSlot * wire::kVerifyMaxBlocks>;
  struct ResyncSlot {
    // Reading: the local read (and, with csums, the peer's digests) outstanding; WaitAck: data sent.
    enum class State { Free, Reading, WaitAck } state = State::Free;
    uint64_t offset = 0;
    uint32_t length = 0;
    uint64_t epoch = 0;
    uint8_t* buf = nullptr;
    uint32_t acks_pending = 0;  // ResyncData messages of this chunk not yet acknowledged
    bool csums = false;         // the peer's digests decide which blocks are sent
    bool local_done = false, remote_done = false;
    int remote_result = 0;
    BlockDigests local{}, remote{};
  };

  // replica_io.cc
  void start_or_queue_write(IoRequest* req);
  bool write_conflicts(uint64_t offset, uint64_t length) const;
  void start_write(IoRequest* req, bool al_held);
  void start_flush(IoRequest* req);
  void app_write_done(uint32_t slot, int result);
  void app_flush_done(uint32_t slot, int result);
  void maybe_finish_app_write(uint32_t slot);
  void maybe_finish_app_flush(uint32_t slot);
  void retry_waiting_writes();
  void on_write_ack(const wire::SeqResult& ack, bool recv_only);
  void on_flush_ack(const wire::SeqResult& ack);
  void on_peer_data(const wire::Message& m);
  void on_peer_flush(const wire::SeqResult& f);
  void submit_ready_peer_writes();
  void peer_write_done(uint32_t slot, int result);
  void maybe_submit_peer_flushes();
  bool peer_receives_writes() const;
  // *held: the write holds AL extents; false with true return = oversize (range marked in the bitmap).
  bool al_begin_write(IoRequest* req, bool* held);
  void free_app_write(uint32_t slot);
  // Bitmap bits set outside the activity log's extents must reach the on-disk bitmap at once.
  void persist_bitmap_range(uint64_t offset, uint64_t length);
  void keep_oversize_marks(uint64_t offset, uint64_t length);
  void persist_bitmap_all();

  // replica_bitmap_exchange.cc
  void send_bitmap();
  void on_bitmap_chunk(const wire::BitmapChunk& c);
  void on_bitmap_done(const wire::BitmapDone& d);
  void start_pending_resync();

  // replica_resync.cc
  void begin_sync_source(bool full);
  void pump_resync();
  void resync_read_done(uint32_t slot, int result);
  void send_resync_blocks(uint32_t slot);
  bool on_csums_reply(const wire::VerifyMsg& r);
  bool use_csums() const;
  void on_resync_ack(const wire::ResyncMsg& ack);
  void maybe_finish_resync_source();
  void on_sync_start(const wire::SyncStart& s);
  void on_sync_done(uint64_t uuid);
  void finish_sync_target();
  bool resync_reading_overlaps(uint64_t offset, uint64_t length) const;

  // replica_verify.cc
  void pump_verify();
  void verify_read_done(uint32_t slot, int result);
  void on_verify_request(const wire::VerifyMsg& v);
  void on_verify_reply(const wire::VerifyMsg& v);
  void peer_verify_read_done(uint32_t slot, int result);
  void submit_ready_peer_verifies();
  bool verify_in_flight_overlaps(uint64_t offset, uint64_t length) const;
  void maybe_compare_verify(uint32_t slot);
  void verify_connection_lost();

  // replica_fencing.cc
  bool needs_fencing() const;
  void start_fencing();
  void unfreeze_io();
  void peer_is_up_to_date_again();

  // replica.cc
  void on_state(const wire::StateMsg& s);
  void run_handshake();
  void send_state(bool handshake);
  void become_primary(bool force);
  void promote_flush_done(int result);
  // Empty when this node may become Primary now, else why not. Checked at the request and again when a
  // pending promotion completes (the state may have changed while waiting for the peer).
  std::string promotion_refusal(bool force) const;
  void on_promote_request();
  void on_promote_reply(bool granted);
  void set_disk(DiskState d);
  void save();
  NodeView local_view() const;
  void protocol_error(std::string_view what);

  static uint64_t make_tag(uint8_t kind, uint64_t index) { return (uint64_t(kind) << 56) | index; }

  ReplicaConfig cfg_;
  Effects* fx_;
  PersistentState ps_;
  DirtyBitmap bitmap_;
  std::optional<ActivityLog> al_;
  uint64_t al_waits_ = 0;
  bool al_flush_in_flight_ = false;
  uint64_t al_flush_token_ = 0;
  // The write at the front of waiting_ that holds its AL extents and waits for their transaction to be durable
  // (at most one transaction is in flight: waiting_ is served in order, so nothing else begins meanwhile).
  IoRequest* al_tx_req_ = nullptr;
  bool al_tx_in_flight_ = false;
  // Bitmap exchange at connect: a bitmap-based sync source starts only once it has ORed in the peer's bitmap.
  bool peer_bitmap_received_ = false;
  // The peer's non-zero bitmap words, held until BitmapDone so they join our bitmap and its on-disk copy at
  // once (our in-memory bitmap never holds bits that a crash of this node could lose without trace).
  std::vector<std::pair<uint64_t, uint64_t>> peer_words_;
  bool source_waits_for_bitmap_ = false;

  Role role_ = Role::Secondary;
  DiskState disk_ = DiskState::Inconsistent;
  ConnState conn_ = ConnState::StandAlone;
  ReplState repl_ = ReplState::Off;
  Role peer_role_ = Role::Unknown;
  DiskState peer_disk_ = DiskState::DUnknown;
  wire::StateMsg peer_state_{};
  bool handshake_done_ = false;
  uint64_t epoch_ = 0;  // increments at every connect; stale completions and acks are recognised by it
  bool standalone_ = true;
  bool split_brain_ = false;
  bool discard_my_data_ = false;
  std::string last_decision_;

  bool fence_pending_ = false;       // the fence-peer handler runs
  bool promote_after_fence_ = false; // a promotion waits for it
  bool io_suspended_user_ = false;   // suspend-io: writes do not start (those in flight complete)
  bool io_frozen_ = false;           // resource-and-stonith: writes neither start nor complete
  bool generation_pending_ = false;  // a new data generation starts when frozen writes resume alone

  bool promote_pending_ = false;
  bool promote_force_ = false;
  // A promotion waiting for the previous Primary's writes (received before the connection broke) to reach
  // our disk, so they cannot land under the new Primary's own writes.
  bool promote_after_drain_ = false;
  // A promotion waiting for the data flush that makes writes received as Secondary durable (activity log).
  bool promote_flushing_ = false;
  bool promote_flush_cancelled_ = false;
  bool promote_flushed_ = false;
  bool promote_granted_ = false;  // become_primary was called after the peer granted the promotion

  std::array<AppWrite, kMaxAppWrites> app_writes_{};
  std::array<AppFlush, kMaxAppFlushes> app_flushes_{};
  std::deque<IoRequest*> waiting_;  // writes/flushes waiting for a slot or a conflicting write
  uint64_t next_seq_ = 1;
  uint32_t app_writes_in_flight_ = 0;

  std::array<PeerWrite, kMaxPeerWrites> peer_writes_{};
  std::deque<PeerFlush> peer_flushes_;
  uint32_t peer_writes_in_flight_ = 0;
  uint32_t peer_buffers_out_ = 0;
  uint64_t next_arrival_ = 1;
  BufferPool peer_buffers_{wire::kMaxDataBytes};

  std::array<ResyncSlot, kResyncWindow> resync_{};
  BufferPool resync_buffers_{kResyncChunkBytes};
  uint64_t resync_cursor_block_ = 0;
  uint64_t resync_total_bytes_ = 0;
  uint64_t resync_done_bytes_ = 0;
  bool sync_done_received_ = false;
  uint64_t sync_done_uuid_ = 0;
  uint64_t sync_done_arrival_ = 0;
  uint64_t sync_done_epoch_ = 0;
  bool sync_target_flushing_ = false;
  bool sync_target_flushed_ = false;

  struct VerifySlot {
    bool used = false;
    bool local_done = false, remote_done = false;
    int error = 0;
    uint64_t offset = 0, epoch = 0;
    uint32_t length = 0;
    uint8_t* buf = nullptr;
    BlockDigests local{}, remote{};
  };
  struct PeerVerify {
    bool used = false;
    bool submitted = false;
    uint64_t offset = 0, epoch = 0, arrival = 0;
    uint32_t length = 0;
    uint8_t* buf = nullptr;
    uint8_t alg = 0, flags = 0;  // from the request, echoed in the reply
  };
  bool resync_uses_csums_ = false;  // decided when the resync starts
  std::array<VerifySlot, kResyncWindow> verify_{};
  std::array<PeerVerify, kResyncWindow> peer_verify_{};
  uint64_t verify_cursor_bytes_ = 0;

  bool resync_paused_ = false;
  double resync_tokens_ = 0;  // bytes the rate limiter allows now (may go one chunk negative)
  ResyncController resync_controller_{cfg_.dynamic_resync};
  uint64_t controller_last_done_ = 0;  // resync_done_bytes_ at the controller's last step
  uint64_t app_io_bytes_ = 0;          // application reads and writes, for c-min-rate
  uint64_t controller_last_app_io_ = 0;
  bool rate_limited() const { return cfg_.resync_rate_bytes_per_s > 0 || cfg_.dynamic_resync.dynamic; }
  void controller_step();
  uint64_t last_tick_ms_ = 0;
  uint64_t rate_window_start_ms_ = 0;
  uint64_t rate_window_start_bytes_ = 0;
  uint64_t resync_rate_measured_ = 0;

  ReplicaStatus counters_;
};

}  // namespace tandem
