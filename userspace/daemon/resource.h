// One replicated resource on this node: wires the pure replication core to its drivers — io_uring storage,
// the peer connection, the metadata store, the control socket and the device frontends — on one event loop.
//
// Threading: everything here runs on the loop thread, except frontend start/stop, which run on a short-lived
// helper thread because the frontends' own kernel I/O is served by this very loop (stopping a FUSE device
// from the loop thread would wait for itself). At most one such admin operation runs at a time.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "core/replica.h"
#include "daemon/control_server.h"
#include "daemon/event_loop.h"
#include "daemon/metadata_store.h"
#include "daemon/peer_connector.h"
#include "daemon/status_report.h"
#include "frontend/fuse_loop/fuse_loop_frontend.h"
#include "frontend/kernel_nbd/kernel_nbd_frontend.h"
#include "frontend/nbd_export/nbd_export.h"
#include "frontend/ublk/ublk_frontend.h"
#include "io/dsync_writer.h"
#include "io/uring_storage.h"

namespace tandem {

struct ResourceOptions {
  config::ResourceConfig config;
  std::string host;    // the local `on` section
  std::string run_dir;
  std::string frontend;  // tandemd --frontend: overrides the config's `options { frontend ...; }`
  std::string config_file;  // for handlers (DRBD_CONF)
  bool private_mount_namespace = false;  // tandemd made one for itself (tandemd_main.cc)
};

class Resource final : public Effects, public BlockTarget {
 public:
  explicit Resource(ResourceOptions opts);
  ~Resource() override;

  // Opens metadata and storage and starts serving. False with a message when it cannot.
  bool start(std::string* error);
  // Runs the loop until `down` or a signal; returns the exit status.
  int run();
  // Asynchronous shutdown request (signal handler path): as `down`, but forced.
  void request_shutdown();

  // BlockTarget (any thread)
  uint64_t size_bytes() const override { return data_size_; }
  bool writable() const override { return writable_.load(); }
  void submit(IoRequest* req) override { loop_.post_request(req); }

  // Effects (loop thread)
  void submit_storage(const StorageOp& op) override { storage_.submit(op); }
  // Disk I/O queued so far goes to the kernel before a large data block is copied into the socket, so the two
  // overlap (small blocks copy quickly: their writes stay batched into one submission per loop iteration).
  static constexpr uint32_t kOverlapMinBytes = 64u << 10;
  void send(const wire::Message& m) override {
    if (wire::data_block_length(m) >= kOverlapMinBytes) storage_.flush_submissions();
    connector_->send(m);
  }
  void send_zero_copy(const wire::Message& m) override {
    if (wire::data_block_length(m) >= kOverlapMinBytes) storage_.flush_submissions();
    connector_->send(m, true);
  }
  void complete(IoRequest* req, int result) override { req->complete(result); }
  void persist(const PersistentState& s) override;
  void write_al_transaction(const meta::AlTransaction& tx) override;
  void submit_al_transaction(uint64_t tag, const meta::AlTransaction& tx) override;
  void persist_bitmap(const DirtyBitmap& bitmap, uint64_t first_block, uint64_t blocks) override;
  void drop_connection(bool standalone, std::string_view reason) override;
  uint64_t new_uuid() override;
  void promotion_done(bool ok, std::string_view message) override;
  void state_changed() override;
  void run_handler(std::string_view name) override;
  void call_fence_peer() override;
  size_t send_backlog_bytes() const override { return connector_->queued_bytes(); }

 private:
  std::vector<std::string> handler_environment(std::string_view name) const;
  void fence_peer_exited();
  void finish_fence_peer(int code);  // the handler is reaped: stop watching it, tell the core
  void check_fence_peer_timeout();
  void on_control(const std::vector<std::string>& words, std::shared_ptr<ControlReply> reply);
  // adjust CONFIG_PATH (resource_adjust.cc): applies the edited resource file to the running resource.
  void adjust(const std::string& config_path, std::shared_ptr<ControlReply> reply);
  // set-options SECTION KEY VALUE...: disk-options / net-options on the running configuration.
  void set_options(const std::vector<std::string>& words, std::shared_ptr<ControlReply> reply);
  // Brings the running resource to `next` (adjust, set-options); `connect`: also connect a StandAlone one.
  // False when it was refused (the reply says why; nothing changed).
  bool apply_config(const config::ResourceConfig& next, bool connect, std::shared_ptr<ControlReply> reply);
  void on_tick();
  void reap_storage();
  void reap_al_writes();
  void al_write_failed(const std::string& err);
  StatusSnapshot snapshot() const;
  // Runs `work` on a helper thread, then `done` on the loop thread.
  bool run_admin_task(std::function<void()> work, std::function<void()> done);
  void finish_admin_task();
  void start_primary_device();
  // The device frontend to create at promotion, per --frontend / the config / what the kernel offers.
  std::unique_ptr<BlockFrontend> make_device_frontend(std::string* error);
  void begin_demote(std::shared_ptr<ControlReply> reply, bool then_down);
  void finish_demote(std::shared_ptr<ControlReply> reply, bool then_down, int attempts);
  void begin_down(std::shared_ptr<ControlReply> reply, bool force);
  void finish_down();
  bool link_device(const std::string& target, std::string* error);
  void unlink_device();
  const config::HostConfig& local() const { return *local_; }
  // The ublk device a crashed run left (frontend/ublk/ublk_orphan.h).
  std::string ublk_record_path() const;
  void check_ublk_orphan();  // tick: release it once the grace period is over and nobody takes it back
  // Stops and deletes it on the admin thread; then `done(gone)` on the loop thread. False if the admin thread
  // is busy.
  bool release_ublk_orphan(std::function<void(bool gone)> done);
  std::string ublk_orphan_note() const;  // for status; "" when there is none

  ResourceOptions opts_;
  const config::HostConfig* local_ = nullptr;
  const config::HostConfig* peer_ = nullptr;
  EventLoop loop_;
  MetadataStore md_;
  DsyncWriter al_writer_;  // activity-log transactions, off the loop thread (after md_: uses its descriptor)
  UringStorage storage_;
  std::unique_ptr<Replica> replica_;
  std::unique_ptr<PeerConnector> connector_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<NbdExport> nbd_;
  std::unique_ptr<BlockFrontend> device_;  // the Primary's kernel block device
  uint64_t data_size_ = 0;
  std::atomic<bool> writable_{false};

  std::thread admin_thread_;
  bool admin_busy_ = false;
  std::shared_ptr<ControlReply> promote_reply_;
  bool shutting_down_ = false;
  std::shared_ptr<ControlReply> down_reply_;
  uint64_t down_deadline_ms_ = 0;
  bool metadata_failed_ = false;
  std::string device_link_;
  int exit_code_ = 0;
  // A ublk device of a crashed run: taken back at `primary` until ublk_orphan_deadline_ms_, then (or at
  // `secondary` / `down`) stopped, so its waiting I/O fails, and deleted unless still held.
  bool ublk_orphan_ = false;
  uint32_t ublk_orphan_id_ = 0;
  uint64_t ublk_orphan_deadline_ms_ = 0;  // next release attempt
  bool ublk_orphan_stopped_ = false;      // stopped, not deleted (held, or the delete failed)
  dev_t ublk_orphan_disk_ = 0;
  std::string ublk_orphan_why_;           // why it is still there after an attempt
  static constexpr uint64_t kUblkOrphanRetryMs = 5000;
  static constexpr uint64_t kUblkRecoveryGraceDefaultS = 60;
  // Polled every tick until it returns true (bounded retries live inside each one).
  std::vector<std::function<bool()>> tick_waiters_;
  // The running fence-peer handler (at most one).
  static constexpr uint64_t kFencePeerTimeoutMs = 90'000;  // below tandemadm's 120 s wait for `primary`
  UniqueFd fence_pidfd_;
  pid_t fence_pid_ = 0;
  uint64_t fence_deadline_ms_ = 0;
};

}  // namespace tandem
