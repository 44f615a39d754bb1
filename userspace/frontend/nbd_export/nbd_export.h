// NbdExport: serves one BlockTarget to NBD clients (qemu, nbdcopy, nbdfuse, fio's nbd engine, nbd-client
// via a proxy) on a unix socket.
//
// Usage (the daemon creates one per resource):
//   NbdExportOptions opts;
//   opts.socket_path = "/run/tandem/r0.nbd";
//   opts.export_name = "r0";
//   NbdExport exp(&target, opts);
//   std::string error;
//   if (int rc = exp.start(&error); rc != 0) log_error("{}", error);
//   ...
//   exp.stop();   // also done by the destructor
//
// Socket: created with mode 0600 (only the daemon's user may connect). A stale socket file left by a crashed
// run is replaced; a path that is not a socket, or a socket someone is still listening on, is refused.
// The file is removed by stop().
// Threads: one accept thread, plus one reader thread per connected client (see nbd_connection.h).
// Bounds: at most `max_clients` connections (extra ones are closed at once, with a log line), each with
// `slots_per_connection` requests in flight.
// Lifetime: `target` must outlive the export. If the target still holds requests when the stop deadline
// passes, those connections are leaked deliberately (logged) so that late completions touch valid memory;
// the target must then still outlive them.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/unique_fd.h"
#include "frontend/block_target.h"
#include "frontend/nbd_export/nbd_connection.h"

namespace tandem {

struct NbdExportOptions {
  std::string socket_path;                    // Required; at most 107 bytes (sockaddr_un).
  std::string export_name;                    // Clients may ask for this name or for "".
  std::string description;                    // Optional NBD_INFO_DESCRIPTION.
  uint32_t max_clients = 16;
  uint32_t slots_per_connection = 64;         // Requests in flight per connection.
  uint32_t max_request_bytes = 32u << 20;     // Advertised maximum block size (READ/WRITE payload).
  uint32_t preferred_block_bytes = 4096;
  uint64_t max_inflight_bytes_per_connection = 64ull << 20;
  int handshake_timeout_ms = 30000;
  int send_timeout_ms = 60000;
  int stop_timeout_ms = 10000;                // How long stop() waits for the target to finish requests.
};

class NbdExport final : public BlockFrontend {
 public:
  NbdExport(BlockTarget* target, NbdExportOptions options);
  ~NbdExport() override;
  NbdExport(const NbdExport&) = delete;
  NbdExport& operator=(const NbdExport&) = delete;

  // Binds and listens; returns 0, or a negative errno with `error` naming the socket path and the cause.
  int start(std::string* error) override;
  // Closes the listener, disconnects every client, waits (bounded) for in-flight requests, joins threads,
  // removes the socket file. Idempotent.
  void stop() override;
  int open_count() const override { return open_count_.load(); }
  std::string kind() const override { return "nbd-export"; }
  std::string device_path() const override { return options_.socket_path; }

 private:
  struct Client {
    std::unique_ptr<nbd::Connection> conn;
    std::thread thread;
    std::atomic<bool> finished{false};
  };

  int bind_socket(std::string* error);
  void accept_loop();
  void accept_one();
  void reap_finished();  // REQUIRES: clients_mu_ held.
  void wake_accept_thread();

  BlockTarget* const target_;
  const NbdExportOptions options_;
  nbd::ConnectionConfig conn_config_;

  UniqueFd listen_fd_;
  UniqueFd wake_fd_;           // eventfd: stop() and finished clients wake the accept thread.
  ino_t socket_inode_ = 0;     // So stop() never removes a socket file another process put there.
  std::thread accept_thread_;
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  uint64_t next_client_id_ = 1;  // Accept thread only.
  std::atomic<int> open_count_{0};

  std::mutex clients_mu_;
  std::list<std::unique_ptr<Client>> clients_;  // GUARDED_BY(clients_mu_)
};

}  // namespace tandem
