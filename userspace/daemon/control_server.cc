#include "daemon/control_server.h"

#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "common/log.h"

namespace tandem {

ControlReply::~ControlReply() {
  if (fd_.valid()) error(20, "the daemon dropped this request without an answer");
}

void ControlReply::send(const std::string& text) {
  if (!fd_.valid()) return;
  size_t off = 0;
  while (off < text.size()) {
    ssize_t w = ::send(fd_.get(), text.data() + off, text.size() - off, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;  // the client went away; nothing else to do
    off += static_cast<size_t>(w);
  }
  fd_.reset();
}

void ControlReply::ok(const std::string& body) { send("OK\n" + body); }
void ControlReply::error(int code, const std::string& message) {
  send(fmt::format("ERR {}\n{}{}", code, message, message.empty() || message.back() == '\n' ? "" : "\n"));
}

ControlServer::~ControlServer() { stop(); }

bool ControlServer::start(const std::string& socket_path, std::string* error) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof a.sun_path) {
    *error = fmt::format("control socket path {} is too long", socket_path);
    return false;
  }
  std::strcpy(a.sun_path, socket_path.c_str());
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  ::unlink(socket_path.c_str());  // a stale socket of a crashed daemon (tandemadm up checked none answers)
  mode_t old = umask(0077);       // created 0600: only root may control the resource
  int rc = bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  umask(old);
  if (rc != 0 || listen(fd.get(), 16) != 0) {
    *error = fmt::format("cannot create control socket {}: {}", socket_path, strerror(errno));
    return false;
  }
  chmod(socket_path.c_str(), 0600);
  path_ = socket_path;
  listener_ = std::move(fd);
  loop_->add(listener_.get(), EPOLLIN, [this](uint32_t) { on_accept(); });
  return true;
}

void ControlServer::stop() {
  if (listener_.valid()) {
    loop_->remove(listener_.get());
    listener_.reset();
    ::unlink(path_.c_str());
  }
  for (auto& c : clients_) loop_->remove(c->fd.get());
  clients_.clear();
}

void ControlServer::on_accept() {
  UniqueFd fd(accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!fd.valid()) return;
  if (clients_.size() >= kMaxClients) {
    ControlReply(std::move(fd)).error(20, "too many concurrent control requests");
    return;
  }
  auto c = std::make_unique<Client>();
  c->fd = std::move(fd);
  c->since_ms = EventLoop::now_ms();
  int raw = c->fd.get();
  clients_.push_back(std::move(c));
  loop_->add(raw, EPOLLIN, [this, raw](uint32_t) { on_client(raw); });
}

void ControlServer::on_client(int fd) {
  auto it = std::find_if(clients_.begin(), clients_.end(), [fd](auto& c) { return c->fd.get() == fd; });
  if (it == clients_.end()) return;
  Client& c = **it;
  char buf[512];
  ssize_t r = ::recv(fd, buf, sizeof buf, 0);
  if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
  bool closed = r <= 0;
  if (r > 0) c.buf.append(buf, static_cast<size_t>(r));
  size_t nl = c.buf.find('\n');
  if (nl == std::string::npos && !closed && c.buf.size() <= kMaxRequestBytes) return;
  loop_->remove(fd);
  auto reply = std::make_shared<ControlReply>(std::move(c.fd));
  std::string line = c.buf.substr(0, nl == std::string::npos ? c.buf.size() : nl);
  clients_.erase(it);
  if (nl == std::string::npos) {
    if (!closed) reply->error(1, fmt::format("request longer than {} bytes", kMaxRequestBytes));
    return;
  }
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string w; in >> w;) words.push_back(w);
  if (words.empty()) {
    reply->error(1, "empty request");
    return;
  }
  handler_(words, reply);
}

}  // namespace tandem
