#include "frontend/kernel_nbd/nbd_netlink.h"

#include <linux/nbd-netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <cerrno>

#include <fmt/format.h>

namespace tandem::kernel_nbd {

namespace {

// libnl folds kernel errnos into its own NLE_* codes; turn the ones the nbd family returns back into errnos
// so callers can tell "busy" from "not permitted".
int errno_from_nl(int nl_error) {
  switch (nl_error < 0 ? -nl_error : nl_error) {
    case NLE_PERM: return -EPERM;
    case NLE_NOACCESS: return -EACCES;
    case NLE_BUSY: return -EBUSY;
    case NLE_INVAL: return -EINVAL;
    case NLE_OBJ_NOTFOUND: return -ENOENT;
    case NLE_NOMEM: return -ENOMEM;
    case NLE_EXIST: return -EEXIST;
    case NLE_AGAIN: return -EAGAIN;
    case NLE_OPNOTSUPP: return -EOPNOTSUPP;
    case NLE_RANGE: return -ERANGE;
    default: return -EIO;
  }
}

// One netlink socket connected to the generic netlink controller with the "nbd" family resolved.
class Session {
 public:
  Session() = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() {
    if (sk_ != nullptr) nl_socket_free(sk_);
  }

  int open(std::string* error) {
    sk_ = nl_socket_alloc();
    if (sk_ == nullptr) {
      *error = "nbd netlink: cannot allocate a netlink socket";
      return -ENOMEM;
    }
    int rc = genl_connect(sk_);
    if (rc < 0) {
      *error = fmt::format("nbd netlink: cannot connect to generic netlink: {}", nl_geterror(rc));
      return errno_from_nl(rc);
    }
    family_ = genl_ctrl_resolve(sk_, NBD_GENL_FAMILY_NAME);
    if (family_ < 0) {
      *error = fmt::format("nbd netlink: the kernel has no \"{}\" generic netlink family (nbd driver not "
                           "loaded?): {}", NBD_GENL_FAMILY_NAME, nl_geterror(family_));
      return -ENOENT;
    }
    return 0;
  }

  // A message for `cmd`, or nullptr (out of memory).
  nl_msg* message(uint8_t cmd) {
    nl_msg* msg = nlmsg_alloc();
    if (msg == nullptr) return nullptr;
    if (genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family_, 0, 0, cmd, NBD_GENL_VERSION) == nullptr) {
      nlmsg_free(msg);
      return nullptr;
    }
    return msg;
  }

  // Sends `msg` (always consumed), feeds every reply message to `on_reply`, waits for the kernel's ack.
  int transact(nl_msg* msg, nl_recvmsg_msg_cb_t on_reply, void* arg, const char* what, std::string* error) {
    if (on_reply != nullptr) nl_socket_modify_cb(sk_, NL_CB_VALID, NL_CB_CUSTOM, on_reply, arg);
    int rc = nl_send_sync(sk_, msg);
    if (rc < 0) {
      *error = fmt::format("nbd netlink: {} failed: {}", what, nl_geterror(rc));
      return errno_from_nl(rc);
    }
    return 0;
  }

 private:
  nl_sock* sk_ = nullptr;
  int family_ = -1;
};

int parse_connect_reply(nl_msg* msg, void* arg) {
  nlattr* attrs[NBD_ATTR_MAX + 1] = {};
  if (genlmsg_parse(nlmsg_hdr(msg), 0, attrs, NBD_ATTR_MAX, nullptr) == 0 && attrs[NBD_ATTR_INDEX] != nullptr) {
    *static_cast<int*>(arg) = static_cast<int>(nla_get_u32(attrs[NBD_ATTR_INDEX]));
  }
  return NL_OK;
}

struct StatusQuery {
  int index = -1;
  int connected = -ENOENT;  // Stays -ENOENT when the device is not in the list.
};

int parse_status_reply(nl_msg* msg, void* arg) {
  auto* q = static_cast<StatusQuery*>(arg);
  nlattr* attrs[NBD_ATTR_MAX + 1] = {};
  if (genlmsg_parse(nlmsg_hdr(msg), 0, attrs, NBD_ATTR_MAX, nullptr) != 0 ||
      attrs[NBD_ATTR_DEVICE_LIST] == nullptr) {
    return NL_OK;
  }
  nlattr* item = nullptr;
  int remaining = 0;
  nla_for_each_nested(item, attrs[NBD_ATTR_DEVICE_LIST], remaining) {
    if (nla_type(item) != NBD_DEVICE_ITEM) continue;
    nlattr* dev[NBD_DEVICE_ATTR_MAX + 1] = {};
    if (nla_parse_nested(dev, NBD_DEVICE_ATTR_MAX, item, nullptr) != 0) continue;
    if (dev[NBD_DEVICE_INDEX] == nullptr || dev[NBD_DEVICE_CONNECTED] == nullptr) continue;
    if (static_cast<int>(nla_get_u32(dev[NBD_DEVICE_INDEX])) == q->index) {
      q->connected = nla_get_u8(dev[NBD_DEVICE_CONNECTED]) != 0 ? 1 : 0;
    }
  }
  return NL_OK;
}

}  // namespace

int nbd_netlink_connect(const NetlinkConnectParams& params, std::string* error) {
  if (params.socket_fds.empty() || params.size_bytes == 0) {
    *error = "nbd netlink: connect needs a size and at least one socket";
    return -EINVAL;
  }
  Session session;
  if (int rc = session.open(error); rc != 0) return rc;
  nl_msg* msg = session.message(NBD_CMD_CONNECT);
  if (msg == nullptr) {
    *error = "nbd netlink: out of memory building CONNECT";
    return -ENOMEM;
  }
  // Attribute types follow the kernel's nbd_attr_policy: INDEX and SOCK_FD are u32, the rest u64.
  bool ok = true;
  if (params.index >= 0) ok = ok && nla_put_u32(msg, NBD_ATTR_INDEX, static_cast<uint32_t>(params.index)) == 0;
  ok = ok && nla_put_u64(msg, NBD_ATTR_SIZE_BYTES, params.size_bytes) == 0;
  ok = ok && nla_put_u64(msg, NBD_ATTR_BLOCK_SIZE_BYTES, params.block_size_bytes) == 0;
  ok = ok && nla_put_u64(msg, NBD_ATTR_SERVER_FLAGS, params.server_flags) == 0;
  ok = ok && nla_put_u64(msg, NBD_ATTR_TIMEOUT, params.timeout_s) == 0;
  ok = ok && nla_put_u64(msg, NBD_ATTR_DEAD_CONN_TIMEOUT, params.dead_conn_timeout_s) == 0;
  if (!params.backend_identifier.empty()) {
    ok = ok && nla_put_string(msg, NBD_ATTR_BACKEND_IDENTIFIER, params.backend_identifier.c_str()) == 0;
  }
  nlattr* sockets = ok ? nla_nest_start(msg, NBD_ATTR_SOCKETS) : nullptr;
  ok = ok && sockets != nullptr;
  for (int fd : params.socket_fds) {
    nlattr* item = ok ? nla_nest_start(msg, NBD_SOCK_ITEM) : nullptr;
    ok = ok && item != nullptr && nla_put_u32(msg, NBD_SOCK_FD, static_cast<uint32_t>(fd)) == 0;
    if (ok) nla_nest_end(msg, item);
  }
  if (ok) nla_nest_end(msg, sockets);
  if (!ok) {
    nlmsg_free(msg);
    *error = "nbd netlink: CONNECT message does not fit";
    return -EMSGSIZE;
  }
  int index = -1;
  if (int rc = session.transact(msg, parse_connect_reply, &index, "CONNECT", error); rc != 0) return rc;
  if (index < 0) index = params.index;  // Older kernels reply without the index when it was given.
  if (index < 0) {
    *error = "nbd netlink: CONNECT succeeded but the reply named no device index";
    return -EPROTO;
  }
  return index;
}

int nbd_netlink_disconnect(int index, std::string* error) {
  Session session;
  if (int rc = session.open(error); rc != 0) return rc;
  nl_msg* msg = session.message(NBD_CMD_DISCONNECT);
  if (msg == nullptr || nla_put_u32(msg, NBD_ATTR_INDEX, static_cast<uint32_t>(index)) != 0) {
    if (msg != nullptr) nlmsg_free(msg);
    *error = "nbd netlink: out of memory building DISCONNECT";
    return -ENOMEM;
  }
  return session.transact(msg, nullptr, nullptr, fmt::format("DISCONNECT of /dev/nbd{}", index).c_str(), error);
}

int nbd_netlink_status(int index, std::string* error) {
  Session session;
  if (int rc = session.open(error); rc != 0) return rc;
  nl_msg* msg = session.message(NBD_CMD_STATUS);
  if (msg == nullptr || nla_put_u32(msg, NBD_ATTR_INDEX, static_cast<uint32_t>(index)) != 0) {
    if (msg != nullptr) nlmsg_free(msg);
    *error = "nbd netlink: out of memory building STATUS";
    return -ENOMEM;
  }
  StatusQuery q;
  q.index = index;
  if (int rc = session.transact(msg, parse_status_reply, &q, "STATUS", error); rc != 0) return rc;
  if (q.connected == -ENOENT) *error = fmt::format("nbd netlink: no device /dev/nbd{}", index);
  return q.connected;
}

bool nbd_netlink_family_present(std::string* why) {
  Session session;
  std::string error;
  if (session.open(&error) != 0) {
    if (why != nullptr) *why = error;
    return false;
  }
  if (why != nullptr) *why = "generic netlink family \"nbd\" is registered";
  return true;
}

}  // namespace tandem::kernel_nbd
