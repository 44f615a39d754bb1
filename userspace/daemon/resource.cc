#include "daemon/resource.h"

#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/check.h"
#include "common/log.h"
#include "core/attach.h"
#include "daemon/handler_process.h"
#include "daemon/peer_auth.h"
#include "daemon/resource_policies.h"
#include "frontend/block_device_busy.h"
#include "frontend/ublk/ublk_orphan.h"

namespace tandem {

namespace {
constexpr uint64_t kDownIdleTimeoutMs = 15000;
constexpr int kDemoteRetryTicks = 100;  // 10 s for in-flight I/O to drain after the device is gone
}  // namespace

Resource::Resource(ResourceOptions opts) : opts_(std::move(opts)) {}

std::vector<std::string> Resource::handler_environment(std::string_view name) const {
  // As DRBD's handlers get it, plus TANDEM_* names.
  return {"DRBD_RESOURCE=" + opts_.config.name,      "TANDEM_RESOURCE=" + opts_.config.name,
          "DRBD_PEER=" + peer_->name,                "DRBD_PEER_ADDRESS=" + peer_->address,
          "DRBD_PEER_AF=ipv4",                       fmt::format("DRBD_PEER_NODE_ID={}", peer_->node_id),
          fmt::format("DRBD_MY_NODE_ID={}", local_->node_id),
          fmt::format("DRBD_MINOR={}", local_->volume.minor < 0 ? 0 : local_->volume.minor),
          "DRBD_VOLUME=0",                           fmt::format("DRBD_MY_ROLE={}", to_string(replica_->role())),
          "DRBD_CONF=" + opts_.config_file,          "TANDEM_RUN_DIR=" + opts_.run_dir,
          "TANDEM_HANDLER=" + std::string(name),     "PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
}

void Resource::run_handler(std::string_view name) {
  const std::string* cmd = opts_.config.handlers.get(name);
  if (!cmd || cmd->empty()) return;
  log_info("calling handler {}: {}", name, *cmd);
  if (int err = spawn_detached_handler(*cmd, handler_environment(name)); err < 0)
    log_error("cannot start handler {}: {}", name, strerror(-err));
}

void Resource::call_fence_peer() {
  const std::string* cmd = opts_.config.handlers.get("fence-peer");
  TANDEM_CHECK(cmd && !cmd->empty());  // start() refuses fencing without the handler
  TANDEM_CHECK(!fence_pidfd_.valid());  // the core runs one at a time
  log_info("calling handler fence-peer: {}", *cmd);
  pid_t pid = 0;
  if (int err = spawn_watched_handler(*cmd, handler_environment("fence-peer"), &pid, &fence_pidfd_); err < 0) {
    log_error("cannot start handler fence-peer: {}", strerror(-err));
    loop_.post([this, err] { replica_->fence_peer_done(err); });
    return;
  }
  fence_pid_ = pid;
  fence_deadline_ms_ = EventLoop::now_ms() + kFencePeerTimeoutMs;
  loop_.add(fence_pidfd_.get(), EPOLLIN, [this](uint32_t) { fence_peer_exited(); });
}

void Resource::fence_peer_exited() {
  int code = reap_watched_handler(fence_pidfd_.get());
  log_info("handler fence-peer exited with {}", code);
  finish_fence_peer(code);
}

void Resource::finish_fence_peer(int code) {
  loop_.remove(fence_pidfd_.get());
  fence_pidfd_.reset();
  fence_pid_ = 0;
  replica_->fence_peer_done(code);
}

// Bounded: a handler that hangs (an unreachable cluster, a wedged script) is killed, and fencing failed.
void Resource::check_fence_peer_timeout() {
  if (!fence_pidfd_.valid() || EventLoop::now_ms() < fence_deadline_ms_) return;
  log_error("handler fence-peer did not finish within {} s; killing it", kFencePeerTimeoutMs / 1000);
  kill(fence_pid_, SIGKILL);
  reap_watched_handler(fence_pidfd_.get());
  finish_fence_peer(-ETIMEDOUT);
}

Resource::~Resource() {
  if (admin_thread_.joinable()) admin_thread_.join();
}

bool Resource::start(std::string* error) {
  const config::ResourceConfig& rc = opts_.config;
  local_ = rc.find_host(opts_.host);
  if (!local_) {
    *error = fmt::format("resource {} has no 'on {}' section", rc.name, opts_.host);
    return false;
  }
  peer_ = config::peer_of(rc, *local_);
  if (!loop_.ok()) {
    *error = fmt::format("cannot create the event loop: {}", strerror(errno));
    return false;
  }
  meta::MdPaths paths{local_->volume.disk, local_->volume.meta_disk};
  if (!md_.open(paths, static_cast<uint32_t>(local_->node_id), static_cast<uint32_t>(peer_->node_id), error))
    return false;
  data_size_ = md_.data_size_bytes();
  if (!storage_.open(local_->volume.disk, data_size_, error)) return false;

  bool clean = md_.was_clean_shutdown();
  AlOnDisk al;
  if (!md_.load_al(&al, error)) return false;
  AttachPlan plan = plan_attach(md_.load_state(), clean, al);
  const PersistentState& ps = plan.state;
  ReplicaConfig cfg;
  cfg.node_id = static_cast<uint32_t>(local_->node_id);
  cfg.peer_node_id = static_cast<uint32_t>(peer_->node_id);
  cfg.data_size_bytes = data_size_;
  if (!replica_policies(rc, &cfg, error)) return false;
  cfg.al_last_seq = al.ring.last_seq;
  replica_ = std::make_unique<Replica>(cfg, ps, this);
  if (!clean)
    log_warn("the last run did not shut down cleanly{}",
             ps.crashed_primary ? " (crashed while Primary)" : "; a full resync from the peer will follow");
  if (!plan.note.empty()) log_warn("{}", plan.note);
  if (plan.mark_all_out_of_sync) {
    // The in-memory bitmap of the last run is lost and no activity log bounds it: every block is out of sync.
    log_warn("marking all data out of sync for the peer");
    replica_->mark_all_out_of_sync();
  } else {
    DirtyBitmap bm(data_size_);
    if (!md_.load_bitmap(&bm, error)) return false;
    replica_->load_bitmap(bm.words());
    replica_->mark_extents_out_of_sync(plan.mark_extents);
  }
  // The marks go to the on-disk bitmap before the AL ring is started afresh; only then does the superblock
  // say that this run keeps the AL.
  replica_->start_activity_log();
  if (metadata_failed_) {
    *error = "writing the bitmap or activity log failed (see above)";
    return false;
  }
  md_.set_activity_log(true);
  if (!md_.save_state(replica_->persistent(), true, error)) return false;
  // A link left by a daemon that died while Primary points at a device that is gone; the node starts as
  // Secondary, so the link must not exist. Only a symlink is removed: that is all tandem ever creates there.
  device_link_ = local_->volume.device;
  unlink_device();
  if (ublk_orphan_recorded(ublk_record_path(), &ublk_orphan_id_)) {
    // A crashed run's /dev/ublkbN: its openers' I/O waits. Keep it for a prompt `primary` (the usual restart
    // by a cluster manager), but not forever.
    uint64_t grace_s = kUblkRecoveryGraceDefaultS;
    if (const std::string* v = rc.options.get("ublk-recovery-grace")) grace_s = std::strtoull(v->c_str(), nullptr, 10);
    ublk_orphan_ = true;
    ublk_orphan_deadline_ms_ = EventLoop::now_ms() + grace_s * 1000;
    log_warn("/dev/ublkb{} of a crashed run is still there (its I/O waits): `primary` within {} s takes it back; "
             "after that, or at `secondary` or `down`, it is stopped (its I/O fails) and deleted",
             ublk_orphan_id_, grace_s);
  }

  loop_.add(storage_.event_fd(), EPOLLIN, [this](uint32_t) { reap_storage(); });
  if (!al_writer_.open(md_.md_fd(), error)) return false;
  loop_.add(al_writer_.event_fd(), EPOLLIN, [this](uint32_t) { reap_al_writes(); });
  loop_.set_tick([this] { on_tick(); });
  loop_.set_before_wait([this] {
    replica_->send_queue_drained();  // cheap when nothing waits
    storage_.flush_submissions();
  });
  loop_.set_request_handler([this](IoRequest* r) { replica_->app_request(r); });

  PeerConnectorConfig pc = peer_connector_config(rc, *local_, *peer_);
  PeerConnectorCallbacks cb;
  cb.connected = [this] { replica_->peer_connected(); };
  cb.message = [this](const wire::Message& m) { replica_->peer_message(m); };
  cb.disconnected = [this](const std::string& why) { replica_->peer_disconnected(why); };
  cb.can_accept = [this] { return replica_->can_accept_peer_message(); };
  connector_ = std::make_unique<PeerConnector>(&loop_, pc, cb, replica_->data_buffer_pool());

  control_ = std::make_unique<ControlServer>(
      &loop_, [this](const std::vector<std::string>& w, std::shared_ptr<ControlReply> r) { on_control(w, r); });
  if (!control_->start(fmt::format("{}/{}.ctl", opts_.run_dir, rc.name), error)) return false;

  NbdExportOptions no;
  no.socket_path = fmt::format("{}/{}.nbd", opts_.run_dir, rc.name);
  no.export_name = rc.name;
  no.description = fmt::format("tandem resource {} on {}", rc.name, opts_.host);
  nbd_ = std::make_unique<NbdExport>(this, no);
  if (nbd_->start(error) != 0) return false;
  log_info("resource {} on {} (node-id {}): {} bytes, disk {}, {}", rc.name, opts_.host, local_->node_id,
           data_size_, to_string(replica_->disk()), clean ? "clean start" : "after an unclean stop");
  return true;
}

int Resource::run() {
  loop_.run();
  return exit_code_;
}

void Resource::reap_storage() {
  storage_.reap([this](uint64_t tag, int result) { replica_->storage_done(tag, result); });
  connector_->kick();
}

void Resource::on_tick() {
  connector_->tick();
  al_writer_.kick();
  replica_->tick(EventLoop::now_ms());
  check_fence_peer_timeout();
  check_ublk_orphan();
  for (size_t i = 0; i < tick_waiters_.size();) {
    auto w = tick_waiters_[i];
    if (w()) {
      tick_waiters_.erase(tick_waiters_.begin() + static_cast<long>(i));
    } else {
      i++;
    }
  }
}

void Resource::persist(const PersistentState& s) {
  std::string err;
  if (!md_.save_state(s, /*running=*/true, &err)) {
    // Without durable metadata we cannot promise anything about the generation identifiers; say so loudly.
    if (!metadata_failed_) log_error("metadata write failed: {}", err);
    metadata_failed_ = true;
  }
}

void Resource::write_al_transaction(const meta::AlTransaction& tx) {
  std::string err;
  if (!md_.write_al(tx, &err)) al_write_failed(err);
}

void Resource::submit_al_transaction(uint64_t tag, const meta::AlTransaction& tx) {
  uint8_t block[meta::kAlSlotBytes];
  uint64_t offset = 0;
  md_.encode_al(tx, block, &offset);
  al_writer_.submit(tag, offset, block, meta::kAlSlotBytes);  // the core keeps one in flight
}

void Resource::reap_al_writes() {
  al_writer_.reap([this](uint64_t tag, int result) {
    if (result < 0) al_write_failed(fmt::format("writing the activity log: {}", strerror(-result)));
    replica_->storage_done(tag, result);
  });
  connector_->kick();
}

// The write a transaction admits goes ahead (failing application I/O for a metadata problem helps nobody), but
// a later crash can no longer be bounded: say so, and stop claiming the AL is kept.
void Resource::al_write_failed(const std::string& err) {
  if (!metadata_failed_) log_error("activity-log write failed: {}", err);
  metadata_failed_ = true;
  md_.set_activity_log(false);
  std::string e2;
  md_.save_state(replica_->persistent(), true, &e2);
}

void Resource::persist_bitmap(const DirtyBitmap& bitmap, uint64_t first_block, uint64_t blocks) {
  std::string err;
  if (!md_.save_bitmap_range(bitmap, first_block, blocks, &err)) {
    if (!metadata_failed_) log_error("bitmap write failed: {}", err);
    metadata_failed_ = true;
    md_.set_activity_log(false);
    std::string e2;
    md_.save_state(replica_->persistent(), true, &e2);
  }
}

void Resource::drop_connection(bool standalone, std::string_view reason) {
  std::string why(reason);
  if (standalone) {
    replica_->set_standalone(true);
    loop_.post([this, why] { connector_->disable(why); });
  } else {
    connector_->drop(why);
  }
}

uint64_t Resource::new_uuid() {
  uint64_t u = 0;
  while (u == 0 || u == kUuidJustCreated) {
    random_bytes(reinterpret_cast<uint8_t*>(&u), sizeof u);
    u &= ~1ULL;  // DRBD keeps the lowest bit for the Primary flag
  }
  return u;
}

void Resource::state_changed() { writable_ = replica_->writable(); }

StatusSnapshot Resource::snapshot() const {
  StatusSnapshot s;
  s.resource = opts_.config.name;
  s.host = local_->name;
  s.peer_host = peer_->name;
  s.node_id = static_cast<uint32_t>(local_->node_id);
  s.peer_node_id = static_cast<uint32_t>(peer_->node_id);
  s.size_bytes = data_size_;
  if (device_) {
    s.frontend_kind = device_->kind();
    s.frontend_device = device_->device_path();
  }
  s.device_link = device_link_;
  s.ublk_orphan = ublk_orphan_note();
  if (auto* u = dynamic_cast<const UblkFrontend*>(device_.get())) s.ublk_opcodes = ublk::encoding_name(u->encoding());
  s.nbd_socket = nbd_ ? nbd_->device_path() : "";
  s.protocol = opts_.config.net.protocol;
  s.minor = local_->volume.minor;
  s.replica = replica_->status();
  return s;
}

bool Resource::run_admin_task(std::function<void()> work, std::function<void()> done) {
  if (admin_busy_) return false;
  admin_busy_ = true;
  if (admin_thread_.joinable()) admin_thread_.join();
  admin_thread_ = std::thread([this, work = std::move(work), done = std::move(done)]() mutable {
    work();
    loop_.post([this, done = std::move(done)] {
      admin_busy_ = false;
      done();
    });
  });
  return true;
}

void Resource::on_control(const std::vector<std::string>& words, std::shared_ptr<ControlReply> reply) {
  const std::string& cmd = words[0];
  bool force = words.size() > 1 && words[1] == "--force";
  ReplicaStatus st = replica_->status();
  if (cmd == "ping") return reply->ok("pong\n");
  if (cmd == "status") {
    StatusTextOptions o;
    for (size_t i = 1; i < words.size(); i++) {
      if (words[i] == "--verbose") o.verbose = true;
      else if (words[i] == "--statistics") o.statistics = true;
      else return reply->error(1, fmt::format("status: unknown option '{}'", words[i]));
    }
    return reply->ok(format_status_text(snapshot(), o));
  }
  if (cmd == "status-json") return reply->ok(format_status_json(snapshot()));
  if (cmd == "role") return reply->ok(fmt::format("{}/{}\n", to_string(st.role), to_string(st.peer_role)));
  if (cmd == "cstate") {
    bool connected = st.conn == ConnState::Connected && st.repl != ReplState::Off;
    return reply->ok(fmt::format("{}\n", connected ? "Connected"
                                         : st.conn == ConnState::Connected ? "Connecting"
                                                                           : std::string(to_string(st.conn))));
  }
  if (cmd == "dstate") return reply->ok(fmt::format("{}/{}\n", to_string(st.disk), to_string(st.peer_disk)));
  if (cmd == "show-gi") {
    std::string h;
    for (uint64_t x : st.ids.history) h += fmt::format("{}{:016X}", h.empty() ? "" : ",", x);
    return reply->ok(fmt::format("current:{:016X} bitmap:{:016X} history:{}\n", st.ids.current, st.ids.bitmap, h));
  }
  if (cmd == "resume-io") {  // also while going down: a `down` may wait for writes held by suspend-io
    std::string why = replica_->resume_io();
    return why.empty() ? reply->ok() : reply->error(11, why);
  }
  if (shutting_down_) return reply->error(20, "the resource is going down");
  if (cmd == "connect") {
    bool discard = words.size() > 1 && words[1] == "--discard-my-data";
    if (discard && replica_->role() == Role::Primary)
      return reply->error(11, "--discard-my-data on a Primary: demote it first (secondary)");
    if (discard) replica_->set_discard_my_data(true);
    replica_->set_standalone(false);
    connector_->enable();
    return reply->ok();
  }
  if (cmd == "disconnect") {
    replica_->set_standalone(true);
    connector_->disable("administrative disconnect");
    return reply->ok();
  }
  if (cmd == "suspend-io") {
    std::string why = replica_->suspend_io();
    return why.empty() ? reply->ok() : reply->error(11, why);
  }
  if (cmd == "pause-sync" || cmd == "resume-sync") {
    std::string why = cmd == "pause-sync" ? replica_->pause_sync() : replica_->resume_sync();
    return why.empty() ? reply->ok() : reply->error(11, why);
  }
  if (cmd == "verify") {
    std::string why = replica_->start_verify();
    return why.empty() ? reply->ok() : reply->error(11, why);
  }
  if (cmd == "invalidate" || cmd == "invalidate-remote" || cmd == "outdate" || cmd == "new-current-uuid") {
    bool clear_bitmap = words.size() > 1 && words[1] == "--clear-bitmap";
    std::string why = cmd == "invalidate"          ? replica_->invalidate()
                      : cmd == "invalidate-remote" ? replica_->invalidate_remote()
                      : cmd == "outdate"           ? replica_->outdate()
                                                   : replica_->new_current_uuid(clear_bitmap);
    return why.empty() ? reply->ok() : reply->error(11, why);
  }
  if (admin_busy_ || promote_reply_) return reply->error(20, "another role change is in progress; retry");
  if (cmd == "adjust") {
    if (words.size() != 2) return reply->error(1, "usage: adjust CONFIG_PATH");
    return adjust(words[1], reply);
  }
  if (cmd == "set-options") return set_options(words, reply);
  if (cmd == "primary") {
    promote_reply_ = reply;
    replica_->promote(force);
    return;
  }
  if (cmd == "secondary") return begin_demote(reply, false);
  if (cmd == "down") return begin_down(reply, force);
  reply->error(1, fmt::format("unknown control command '{}'", cmd));
}

void Resource::promotion_done(bool ok, std::string_view message) {
  auto reply = std::move(promote_reply_);
  promote_reply_.reset();
  if (!ok) {
    if (reply) reply->error(11, std::string(message));
    return;
  }
  if (shutting_down_) {
    replica_->demote(0);
    writable_ = replica_->writable();
    if (reply) reply->error(20, "the resource is going down");
    return;
  }
  writable_ = true;
  if (device_) {  // already Primary with a device
    if (reply) reply->ok();
    return;
  }
  promote_reply_ = reply;  // held until the device exists
  start_primary_device();
}

void Resource::start_primary_device() {
  auto err = std::make_shared<std::string>();
  auto rc = std::make_shared<int>(0);
  auto fe = std::make_shared<std::unique_ptr<BlockFrontend>>(make_device_frontend(err.get()));
  bool started = run_admin_task([fe, err, rc] { *rc = *fe ? (*fe)->start(err.get()) : -1; },
                                [this, fe, err, rc] {
                                  auto reply = std::move(promote_reply_);
                                  promote_reply_.reset();
                                  // A started ublk frontend took the crashed run's device back (or found it
                                  // gone); its record now names the live device.
                                  uint32_t id = 0;
                                  if (ublk_orphan_ && ((*rc == 0 && (*fe)->kind() == "ublk") ||
                                                       !ublk_orphan_recorded(ublk_record_path(), &id)))
                                    ublk_orphan_ = false;
                                  if (*rc != 0) {
                                    log_error("cannot create the device: {}", *err);
                                    std::string why = replica_->demote(0);
                                    writable_ = replica_->writable();
                                    if (reply)
                                      reply->error(20, fmt::format("promoted, but the device could not be created "
                                                                   "({}); {}", *err,
                                                                   why.empty() ? "demoted again"
                                                                               : "still Primary: " + why));
                                    return;
                                  }
                                  device_ = std::move(*fe);
                                  std::string lerr;
                                  if (!link_device(device_->device_path(), &lerr)) log_error("{}", lerr);
                                  log_info("device {} ready{}", device_->device_path(),
                                           device_link_.empty() ? "" : " as " + device_link_);
                                  if (reply) reply->ok(lerr.empty() ? "" : "warning: " + lerr + "\n");
                                });
  TANDEM_CHECK(started);
}

std::unique_ptr<BlockFrontend> Resource::make_device_frontend(std::string* error) {
  std::string kind = opts_.frontend;
  if (kind.empty()) {
    const std::string* v = opts_.config.options.get("frontend");
    kind = v ? *v : "auto";
  }
  std::string why;
  if (kind == "auto") {
    kind = ublk_available(&why) ? "ublk" : kernel_nbd_available(&why) ? "kernel-nbd" : "fuse-loop";
    log_info("frontend auto: {}{}", kind, why.empty() ? "" : " (" + why + ")");
  }
  if (kind == "ublk") {
    UblkOptions o;
    // The device id survives a crash here, so a restarted daemon takes the same /dev/ublkbN back.
    o.record_path = ublk_record_path();
    o.private_mount_namespace = opts_.private_mount_namespace;
    return std::make_unique<UblkFrontend>(*this, opts_.config.name, o);
  }
  if (kind == "kernel-nbd") {
    KernelNbdOptions o;
    o.backend_identifier = fmt::format("tandem:{}@{}", opts_.config.name, opts_.host);
    return std::make_unique<KernelNbdFrontend>(*this, opts_.config.name, o);
  }
  if (kind == "fuse-loop") {
    FuseLoopOptions o;
    // The loop device is found by this record after a crash (the FUSE path dies with our mount namespace).
    o.record_path = fmt::format("{}/{}.loop", opts_.run_dir, opts_.config.name);
    return std::make_unique<FuseLoopFrontend>(*this, opts_.config.name,
                                              fmt::format("{}/fuse-{}", opts_.run_dir, opts_.config.name), o);
  }
  *error = fmt::format("the {} frontend is not available in this build", kind);
  return nullptr;
}

bool Resource::link_device(const std::string& target, std::string* error) {
  const std::string& path = local().volume.device;
  if (path.empty()) return true;
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISLNK(st.st_mode)) {
      *error = fmt::format("{} exists and is not a symlink; not replacing it", path);
      return false;
    }
    ::unlink(path.c_str());
  }
  if (symlink(target.c_str(), path.c_str()) != 0) {
    *error = fmt::format("cannot create the device link {} -> {}: {}", path, target, strerror(errno));
    return false;
  }
  device_link_ = path;
  return true;
}

void Resource::unlink_device() {
  if (device_link_.empty()) return;
  struct stat st;
  if (lstat(device_link_.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) ::unlink(device_link_.c_str());
  device_link_.clear();
}

void Resource::begin_demote(std::shared_ptr<ControlReply> reply, bool then_down) {
  if (replica_->role() != Role::Primary) {
    if (then_down) return finish_down();
    if (ublk_orphan_ && !ublk_orphan_stopped_) {
      // `secondary` on a restarted Secondary: the crashed run's device is not wanted back; end its waiting now.
      bool started = release_ublk_orphan([this, reply](bool gone) {
        reply->ok(gone ? "" : "warning: " + ublk_orphan_note() + "\n");
      });
      if (started) return;
    }
    return reply->ok();
  }
  int open = nbd_->open_count() + (device_ ? device_->open_count() : 0);
  if (open > 0) {
    std::string who;
    if (device_ && device_->open_count() > 0) {
      std::string openers = processes_holding(device_->device_path(), getpid());
      who = openers.empty() ? fmt::format("{} is in use (mounted or opened)", device_->device_path())
                            : fmt::format("{} is open by {}", device_->device_path(), openers);
    } else {
      who = fmt::format("{} NBD client(s) connected", nbd_->open_count());
    }
    if (then_down) shutting_down_ = false;
    return reply->error(11, fmt::format("cannot demote: the device is held open ({})", who));
  }
  auto err = std::make_shared<std::string>();
  auto rc = std::make_shared<int>(0);
  BlockFrontend* fe = device_.get();
  run_admin_task([fe, err, rc] { *rc = fe ? fe->try_stop(err.get()) : 0; },
                 [this, reply, then_down, err, rc] {
                   if (*rc != 0) {
                     if (then_down) shutting_down_ = false;
                     reply->error(11, fmt::format("cannot demote: {}", *err));
                     return;
                   }
                   device_.reset();
                   unlink_device();
                   finish_demote(reply, then_down, 0);
                 });
}

void Resource::finish_demote(std::shared_ptr<ControlReply> reply, bool then_down, int) {
  auto attempts = std::make_shared<int>(0);
  tick_waiters_.push_back([this, reply, then_down, attempts]() {
    std::string why = replica_->demote(0);
    if (!why.empty() && ++*attempts < kDemoteRetryTicks) return false;
    writable_ = replica_->writable();
    if (!why.empty()) {
      if (then_down) shutting_down_ = false;
      reply->error(11, "cannot demote: " + why);
      return true;
    }
    if (then_down) {
      finish_down();
    } else {
      reply->ok();
    }
    return true;
  });
}

void Resource::begin_down(std::shared_ptr<ControlReply> reply, bool force) {
  shutting_down_ = true;
  replica_->cancel_promotion("the resource is going down");
  if (force) replica_->lift_user_suspension();  // held writes would wait for a resume-io that cannot come
  if (admin_busy_) {
    // A device is being created or removed right now (signal path): go down once that has finished.
    tick_waiters_.push_back([this, reply, force] {
      if (admin_busy_) return false;
      begin_down(reply, force);
      return true;
    });
    return;
  }
  if (ublk_orphan_) {
    // The crashed run's device must not outlive the daemon with its I/O waiting for a server that never comes.
    bool started = release_ublk_orphan([this, reply, force](bool gone) {
      if (!gone && !force) {
        shutting_down_ = false;
        reply->error(11, "cannot go down: " + ublk_orphan_note() + "; unmount it (or close it), then down again");
        return;
      }
      if (!gone) {
        log_error("going down anyway (signal): {}; the next start of this resource deletes it", ublk_orphan_note());
        ublk_orphan_ = false;
      }
      begin_down(reply, force);
    });
    TANDEM_CHECK(started);  // admin_busy_ was checked above
    return;
  }
  down_reply_ = reply;
  if (force && device_) {
    // Signal path: tear the device down even if it is in use (users see I/O errors, data stays consistent).
    BlockFrontend* fe = device_.get();
    run_admin_task([fe] { fe->stop(); }, [this] {
      device_.reset();
      unlink_device();
      tick_waiters_.push_back([this] {
        if (!replica_->demote(0).empty()) return false;
        finish_down();
        return true;
      });
    });
    return;
  }
  begin_demote(reply, true);
}

void Resource::finish_down() {
  connector_->disable("resource going down");
  NbdExport* nbd = nbd_.get();
  auto after_nbd = [this] {
    down_deadline_ms_ = EventLoop::now_ms() + kDownIdleTimeoutMs;
    tick_waiters_.push_back([this] {
      bool idle = replica_->idle() && storage_.in_flight() == 0;
      if (!idle && EventLoop::now_ms() < down_deadline_ms_) return false;
      if (!idle) log_error("I/O still in flight after {} ms; stopping anyway", kDownIdleTimeoutMs);
      std::string err;
      int rc = storage_.sync_now();
      if (rc != 0) log_error("final sync of the backing store failed: {}", strerror(-rc));
      if (!md_.save_bitmap(replica_->bitmap(), &err)) log_error("saving the bitmap failed: {}", err);
      bool ok = rc == 0 && err.empty() && md_.save_state(replica_->persistent(), false, &err);
      if (!ok && !err.empty()) log_error("saving metadata failed: {}", err);
      log_info("resource {} down{}", opts_.config.name, ok ? " cleanly" : " (metadata not marked clean)");
      control_->stop();
      if (down_reply_) {
        if (ok)
          down_reply_->ok();
        else
          down_reply_->error(20, "down completed, but the final metadata write failed: " + err);
      }
      down_reply_.reset();
      exit_code_ = ok ? 0 : 1;
      loop_.stop();
      return true;
    });
  };
  if (!run_admin_task([nbd] { nbd->stop(); }, after_nbd)) after_nbd();
}

std::string Resource::ublk_record_path() const {
  return fmt::format("{}/{}.ublk", opts_.run_dir, opts_.config.name);
}

bool Resource::release_ublk_orphan(std::function<void(bool gone)> done) {
  UblkOptions o;
  o.record_path = ublk_record_path();
  o.private_mount_namespace = opts_.private_mount_namespace;
  auto result = std::make_shared<UblkOrphan>();
  dev_t known = ublk_orphan_disk_;
  std::string name = opts_.config.name;
  return run_admin_task([result, o, known, name] { *result = tandem::release_ublk_orphan(name, o, known); },
                        [this, result, done = std::move(done)] {
                          const UblkOrphan& r = *result;
                          bool gone = r.outcome == UblkOrphan::Outcome::None ||
                                      r.outcome == UblkOrphan::Outcome::Deleted;
                          if (gone) {
                            ublk_orphan_ = false;
                            ublk_orphan_why_.clear();
                          } else {
                            if (r.disk != 0) ublk_orphan_disk_ = r.disk;
                            // A Failed attempt may have stopped it already; STOP_DEV on a stopped device is
                            // harmless, so only Held is sure.
                            if (r.outcome == UblkOrphan::Outcome::Held) ublk_orphan_stopped_ = true;
                            if (r.message != ublk_orphan_why_)
                              log_error("/dev/ublkb{} of a crashed run is not deleted yet: {}; retrying every {} s",
                                        ublk_orphan_id_, r.message, kUblkOrphanRetryMs / 1000);
                            ublk_orphan_why_ = r.message;
                            ublk_orphan_deadline_ms_ = EventLoop::now_ms() + kUblkOrphanRetryMs;
                          }
                          if (done) done(gone);
                        });
}

void Resource::check_ublk_orphan() {
  if (!ublk_orphan_ || admin_busy_ || promote_reply_ || shutting_down_) return;
  if (EventLoop::now_ms() < ublk_orphan_deadline_ms_) return;
  if (device_ && device_->kind() == "ublk") return;  // cannot happen: that device took the record
  if (replica_->role() == Role::Primary && !device_) return;  // a device is about to be created
  if (!ublk_orphan_stopped_)
    log_warn("/dev/ublkb{} of a crashed run was not taken back by `primary` in time: stopping it", ublk_orphan_id_);
  release_ublk_orphan(nullptr);
}

std::string Resource::ublk_orphan_note() const {
  if (!ublk_orphan_) return "";
  std::string node = fmt::format("/dev/ublkb{}", ublk_orphan_id_);
  if (ublk_orphan_stopped_) return fmt::format("{} of a crashed run is stopped (its I/O fails) but not deleted: {}", node, ublk_orphan_why_);
  if (!ublk_orphan_why_.empty()) return fmt::format("{} of a crashed run: {}", node, ublk_orphan_why_);
  uint64_t now = EventLoop::now_ms();
  uint64_t left_s = ublk_orphan_deadline_ms_ > now ? (ublk_orphan_deadline_ms_ - now + 999) / 1000 : 0;
  return fmt::format("{} of a crashed run: its I/O waits for `primary` ({} s left, then it fails)", node, left_s);
}

void Resource::request_shutdown() {
  loop_.post([this] {
    if (shutting_down_) return;
    log_info("signal received: going down");
    begin_down(std::make_shared<ControlReply>(UniqueFd()), true);
  });
}

}  // namespace tandem
