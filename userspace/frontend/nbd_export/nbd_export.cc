#include "frontend/nbd_export/nbd_export.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/log.h"

namespace tandem {

namespace {

std::string describe_peer(int fd, uint64_t id) {
  struct ucred cred = {};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    return fmt::format("nbd client #{} (pid {} uid {})", id, cred.pid, cred.uid);
  }
  return fmt::format("nbd client #{}", id);
}

int fail(std::string* error, int rc, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return rc;
}

}  // namespace

NbdExport::NbdExport(BlockTarget* target, NbdExportOptions options)
    : target_(target), options_(std::move(options)) {
  conn_config_.handshake.export_name = options_.export_name;
  conn_config_.handshake.description = options_.description;
  conn_config_.handshake.block_sizes.minimum_bytes = 1;
  conn_config_.handshake.block_sizes.preferred_bytes = options_.preferred_block_bytes;
  conn_config_.handshake.block_sizes.maximum_bytes = options_.max_request_bytes;
  conn_config_.slots = options_.slots_per_connection;
  conn_config_.max_payload_bytes = options_.max_request_bytes;
  conn_config_.max_inflight_bytes = options_.max_inflight_bytes_per_connection;
  conn_config_.handshake_timeout_ms = options_.handshake_timeout_ms;
  conn_config_.send_timeout_ms = options_.send_timeout_ms;
}

NbdExport::~NbdExport() { stop(); }

int NbdExport::start(std::string* error) {
  if (started_) return fail(error, -EALREADY, "nbd export " + options_.socket_path + " is already started");
  if (target_ == nullptr) return fail(error, -EINVAL, "nbd export has no target");
  if (options_.slots_per_connection == 0 || options_.max_clients == 0 || options_.max_request_bytes == 0 ||
      options_.export_name.size() > nbd::kMaxStringBytes || options_.description.size() > nbd::kMaxStringBytes) {
    return fail(error, -EINVAL, "nbd export " + options_.socket_path + ": invalid options (zero limit or name too long)");
  }
  int rc = bind_socket(error);
  if (rc != 0) return rc;
  int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) {
    rc = -errno;
    listen_fd_.reset();
    ::unlink(options_.socket_path.c_str());
    return fail(error, rc, fmt::format("nbd export {}: eventfd: {}", options_.socket_path, std::strerror(-rc)));
  }
  wake_fd_.reset(efd);
  stopping_ = false;
  started_ = true;
  accept_thread_ = std::thread([this] { accept_loop(); });
  log_info("nbd export '{}' listening on {} ({} bytes{})", options_.export_name, options_.socket_path,
           target_->size_bytes(), target_->writable() ? "" : ", currently read-only");
  return 0;
}

int NbdExport::bind_socket(std::string* error) {
  const std::string& path = options_.socket_path;
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return fail(error, -ENAMETOOLONG,
                fmt::format("nbd socket path '{}' must be 1..{} bytes", path, sizeof addr.sun_path - 1));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());

  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return fail(error, -errno, fmt::format("nbd export {}: socket: {}", path, std::strerror(errno)));
  UniqueFd sock(fd);

  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return fail(error, -EEXIST, fmt::format("nbd socket path {} exists and is not a socket; not touching it", path));
    }
    // Someone still accepting there means a second daemon (or a second resource with the same path).
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (probe.valid() && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      return fail(error, -EADDRINUSE, fmt::format("nbd socket {} is in use by another server", path));
    }
    log_info("nbd export: replacing stale socket {}", path);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return fail(error, -errno, fmt::format("nbd export: cannot remove stale socket {}: {}", path, std::strerror(errno)));
    }
  }
  if (::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return fail(error, -errno, fmt::format("nbd export: bind {}: {}", path, std::strerror(errno)));
  }
  // Before listen(): until then nobody can connect, so the umask-derived mode is never usable.
  if (::chmod(path.c_str(), 0600) != 0 || ::lstat(path.c_str(), &st) != 0) {
    int rc = -errno;
    ::unlink(path.c_str());
    return fail(error, rc, fmt::format("nbd export: chmod 0600 {}: {}", path, std::strerror(-rc)));
  }
  socket_inode_ = st.st_ino;
  if (::listen(sock.get(), 16) != 0) {
    int rc = -errno;
    ::unlink(path.c_str());
    return fail(error, rc, fmt::format("nbd export: listen {}: {}", path, std::strerror(-rc)));
  }
  listen_fd_ = std::move(sock);
  return 0;
}

void NbdExport::wake_accept_thread() {
  uint64_t one = 1;
  // Nonblocking eventfd: a full counter already means "wake up", so a failed write loses nothing.
  [[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof one);
}

void NbdExport::accept_loop() {
  while (!stopping_) {
    struct pollfd fds[2] = {{listen_fd_.get(), POLLIN, 0}, {wake_fd_.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      log_error("nbd export {}: poll failed: {}; no longer accepting clients", options_.socket_path,
                std::strerror(errno));
      return;
    }
    if (fds[1].revents & POLLIN) {
      uint64_t count;
      [[maybe_unused]] ssize_t r = ::read(wake_fd_.get(), &count, sizeof count);
      std::lock_guard<std::mutex> lock(clients_mu_);
      reap_finished();
    }
    if (stopping_) return;
    if (fds[0].revents & POLLIN) accept_one();
  }
}

void NbdExport::accept_one() {
  int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) {
    if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
    log_warn("nbd export {}: accept failed: {}", options_.socket_path, std::strerror(errno));
    if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS) {
      // The pending connection stays queued and poll() would return at once: pause instead of spinning.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return;
  }
  UniqueFd sock(fd);
  std::string name = describe_peer(fd, next_client_id_++);
  std::lock_guard<std::mutex> lock(clients_mu_);
  reap_finished();
  if (clients_.size() >= options_.max_clients) {
    log_warn("{}: refused, already {} clients on {}", name, clients_.size(), options_.socket_path);
    return;
  }
  auto client = std::make_unique<Client>();
  client->conn = std::make_unique<nbd::Connection>(std::move(sock), target_, &conn_config_, std::move(name));
  Client* c = client.get();
  open_count_++;
  c->thread = std::thread([this, c] {
    c->conn->run();
    open_count_--;
    c->finished = true;
    wake_accept_thread();
  });
  clients_.push_back(std::move(client));
}

void NbdExport::reap_finished() {
  for (auto it = clients_.begin(); it != clients_.end();) {
    Client* c = it->get();
    if (!c->finished) {
      ++it;
      continue;
    }
    c->thread.join();
    it = clients_.erase(it);
  }
}

void NbdExport::stop() {
  if (!started_) return;
  stopping_ = true;
  wake_accept_thread();
  accept_thread_.join();
  listen_fd_.reset();
  struct stat st;
  if (::lstat(options_.socket_path.c_str(), &st) == 0 && st.st_ino == socket_inode_) {
    ::unlink(options_.socket_path.c_str());
  }

  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.stop_timeout_ms);
  std::lock_guard<std::mutex> lock(clients_mu_);
  for (auto& c : clients_) c->conn->request_stop(deadline);
  for (auto& c : clients_) {
    c->thread.join();
    if (!c->conn->drained()) {
      log_error("{}: target did not finish its requests within {} ms; leaking the connection state so late "
                "completions stay safe", c->conn->client(), options_.stop_timeout_ms);
      (void)c->conn.release();
    }
  }
  clients_.clear();
  wake_fd_.reset();
  started_ = false;
  log_info("nbd export '{}' on {} stopped", options_.export_name, options_.socket_path);
}

}  // namespace tandem
