// The daemon's control socket (docs/control-protocol.md): a unix stream socket, mode 0600, one request line per
// connection, answered with "OK" or "ERR CODE" and a body. Replies may be given later (promotion waits for
// the peer and the device), so a request hands out a ControlReply the handler keeps until it answers.
// Loop thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "daemon/event_loop.h"

namespace tandem {

class ControlReply {
 public:
  explicit ControlReply(UniqueFd fd) : fd_(std::move(fd)) {}
  ~ControlReply();  // answers "ERR 20 no answer" if nobody answered
  void ok(const std::string& body = "");
  void error(int code, const std::string& message);
  bool answered() const { return !fd_.valid(); }

 private:
  void send(const std::string& text);
  UniqueFd fd_;
};

class ControlServer {
 public:
  using Handler = std::function<void(const std::vector<std::string>& words, std::shared_ptr<ControlReply> reply)>;
  static constexpr size_t kMaxRequestBytes = 4096;
  static constexpr size_t kMaxClients = 16;

  ControlServer(EventLoop* loop, Handler handler) : loop_(loop), handler_(std::move(handler)) {}
  ~ControlServer();
  bool start(const std::string& socket_path, std::string* error);
  void stop();

 private:
  struct Client {
    UniqueFd fd;
    std::string buf;
    uint64_t since_ms = 0;
  };
  void on_accept();
  void on_client(int fd);

  EventLoop* loop_;
  Handler handler_;
  std::string path_;
  UniqueFd listener_;
  std::vector<std::unique_ptr<Client>> clients_;
};

}  // namespace tandem
