#include "frontend/nbd_export/nbd_handshake.h"

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "common/log.h"
#include "frontend/nbd_export/nbd_codec.h"
#include "frontend/nbd_export/nbd_socket_io.h"

namespace tandem::nbd {

uint16_t transmission_flags_for(bool writable) {
  uint16_t flags = kTxHasFlags | kTxSendFlush | kTxSendFua | kTxSendTrim | kTxSendWriteZeroes | kTxCanMultiConn;
  if (!writable) flags |= kTxReadOnly;
  return flags;
}

namespace {

const char* option_name(uint32_t option) {
  switch (option) {
    case kOptExportName: return "EXPORT_NAME";
    case kOptAbort: return "ABORT";
    case kOptList: return "LIST";
    case kOptPeekExport: return "PEEK_EXPORT";
    case kOptStartTls: return "STARTTLS";
    case kOptInfo: return "INFO";
    case kOptGo: return "GO";
    case kOptStructuredReply: return "STRUCTURED_REPLY";
    case kOptListMetaContext: return "LIST_META_CONTEXT";
    case kOptSetMetaContext: return "SET_META_CONTEXT";
    default: return "unknown";
  }
}

class Negotiation {
 public:
  Negotiation(int fd, const HandshakeConfig& config, const ExportState& state, const std::string& client)
      : fd_(fd), config_(config), state_(state), client_(client) {}

  HandshakeOutcome run() {
    uint8_t greeting[kGreetingBytes];
    encode_greeting(greeting, kFlagFixedNewstyle | kFlagNoZeroes);
    if (!io_ok(send_all(fd_, greeting, sizeof greeting), "sending the greeting")) return HandshakeOutcome::Closed;

    uint8_t flags_buf[kClientFlagsBytes];
    if (!io_ok(recv_all(fd_, flags_buf, sizeof flags_buf), "reading client flags")) return HandshakeOutcome::Closed;
    uint32_t client_flags = decode_client_flags(flags_buf);
    if (client_flags & ~kClientFlagsKnown) {
      log_warn("{}: unknown client flags {:#x}; closing as the NBD protocol requires", client_, client_flags);
      return HandshakeOutcome::Closed;
    }
    if (!(client_flags & kClientFlagFixedNewstyle)) {
      log_warn("{}: client does not speak fixed newstyle NBD (flags {:#x}); closing", client_, client_flags);
      return HandshakeOutcome::Closed;
    }
    no_zeroes_ = (client_flags & kClientFlagNoZeroes) != 0;

    for (uint32_t count = 0; count < config_.max_options; count++) {
      uint8_t header_buf[kOptionHeaderBytes];
      if (!io_ok(recv_all(fd_, header_buf, sizeof header_buf), "reading an option")) {
        return HandshakeOutcome::Closed;
      }
      OptionHeader header;
      if (!decode_option_header(header_buf, &header)) {
        log_warn("{}: option without IHAVEOPT magic; closing", client_);
        return HandshakeOutcome::Closed;
      }
      if (header.length_bytes > config_.max_option_bytes) {
        log_warn("{}: option {} ({}) carries {} bytes, more than the {} allowed; closing", client_,
                 option_name(header.option), header.option, header.length_bytes, config_.max_option_bytes);
        reply(header.option, kRepErrTooBig, nullptr, 0);
        return HandshakeOutcome::Closed;
      }
      payload_.resize(header.length_bytes);
      if (!io_ok(recv_all(fd_, payload_.data(), payload_.size()), "reading option data")) {
        return HandshakeOutcome::Closed;
      }
      std::optional<HandshakeOutcome> outcome = handle(header.option);
      if (outcome) return *outcome;
    }
    log_warn("{}: more than {} options without choosing an export; closing", client_, config_.max_options);
    return HandshakeOutcome::Closed;
  }

 private:
  // Returns an outcome when negotiation is over, nothing to read the next option.
  std::optional<HandshakeOutcome> handle(uint32_t option) {
    switch (option) {
      case kOptExportName: return handle_export_name();
      case kOptAbort:
        log_info("{}: client aborted the negotiation", client_);
        {
          // Best effort and not logged: clients commonly close right after sending ABORT.
          uint8_t header[kOptionReplyHeaderBytes];
          encode_option_reply_header(header, {option, kRepAck, 0});
          send_all(fd_, header, sizeof header);
        }
        return HandshakeOutcome::Closed;
      case kOptList: return handle_list();
      case kOptInfo:
      case kOptGo: return handle_info_or_go(option);
      default:
        log_debug("{}: option {} ({}) not supported", client_, option_name(option), option);
        if (!reply(option, kRepErrUnsup, nullptr, 0)) return HandshakeOutcome::Closed;
        return std::nullopt;
    }
  }

  std::optional<HandshakeOutcome> handle_export_name() {
    std::string name(payload_.begin(), payload_.end());
    if (!name_matches(name)) {
      // EXPORT_NAME has no error reply: the protocol's only answer to an unknown name is to close.
      log_warn("{}: unknown export name '{}' requested; closing", client_, printable(name));
      return HandshakeOutcome::Closed;
    }
    uint8_t buf[kExportNameReplyBytes + kExportNameZeroPadBytes];
    size_t n = encode_export_name_reply(buf, state_.size_bytes, state_.transmission_flags, no_zeroes_);
    if (!io_ok(send_all(fd_, buf, n), "sending the export reply")) return HandshakeOutcome::Closed;
    return HandshakeOutcome::Transmission;
  }

  std::optional<HandshakeOutcome> handle_list() {
    if (!payload_.empty()) {
      if (!reply(kOptList, kRepErrInvalid, nullptr, 0)) return HandshakeOutcome::Closed;
      return std::nullopt;
    }
    std::vector<uint8_t> entry;
    encode_server_entry(&entry, config_.export_name);
    if (!reply(kOptList, kRepServer, entry.data(), uint32_t(entry.size()))) return HandshakeOutcome::Closed;
    if (!reply(kOptList, kRepAck, nullptr, 0)) return HandshakeOutcome::Closed;
    return std::nullopt;
  }

  std::optional<HandshakeOutcome> handle_info_or_go(uint32_t option) {
    InfoRequest request;
    std::string error;
    if (!decode_info_request(payload_.data(), payload_.size(), &request, &error)) {
      log_warn("{}: malformed {} option: {}", client_, option_name(option), error);
      if (!reply(option, kRepErrInvalid, nullptr, 0)) return HandshakeOutcome::Closed;
      return std::nullopt;
    }
    if (!name_matches(request.export_name)) {
      log_warn("{}: {} for unknown export '{}'", client_, option_name(option), printable(request.export_name));
      if (!reply(option, kRepErrUnknown, nullptr, 0)) return HandshakeOutcome::Closed;
      return std::nullopt;
    }
    uint8_t info_export[kInfoExportBytes];
    encode_info_export(info_export, state_.size_bytes, state_.transmission_flags);
    if (!reply(option, kRepInfo, info_export, sizeof info_export)) return HandshakeOutcome::Closed;
    // Sent even when not requested: minimum 1 means we impose no alignment a client could violate.
    uint8_t info_block[kInfoBlockSizeBytes];
    encode_info_block_size(info_block, config_.block_sizes);
    if (!reply(option, kRepInfo, info_block, sizeof info_block)) return HandshakeOutcome::Closed;
    for (uint16_t type : request.info_types) {
      std::vector<uint8_t> info;
      if (type == kInfoName) {
        encode_info_string(&info, kInfoName, config_.export_name);
      } else if (type == kInfoDescription && !config_.description.empty()) {
        encode_info_string(&info, kInfoDescription, config_.description);
      } else {
        continue;  // Unknown or already sent: the protocol lets the server ignore it.
      }
      if (!reply(option, kRepInfo, info.data(), uint32_t(info.size()))) return HandshakeOutcome::Closed;
    }
    if (!reply(option, kRepAck, nullptr, 0)) return HandshakeOutcome::Closed;
    if (option == kOptGo) return HandshakeOutcome::Transmission;
    return std::nullopt;
  }

  bool name_matches(const std::string& name) const { return name.empty() || name == config_.export_name; }

  // Export names come from the client: keep log lines short and printable.
  static std::string printable(const std::string& s) {
    std::string out;
    for (char c : s.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    if (s.size() > 64) out += "...";
    return out;
  }

  bool reply(uint32_t option, uint32_t type, const uint8_t* data, uint32_t length_bytes) {
    uint8_t header[kOptionReplyHeaderBytes];
    encode_option_reply_header(header, {option, type, length_bytes});
    struct iovec iov[2] = {{header, sizeof header}, {const_cast<uint8_t*>(data), length_bytes}};
    return io_ok(send_all(fd_, iov, 2), "sending an option reply");
  }

  bool io_ok(int rc, const char* what) {
    if (rc == 0) return true;
    if (rc == -ECONNRESET) {
      log_info("{}: disconnected during negotiation ({})", client_, what);
    } else if (rc == -EAGAIN) {
      log_warn("{}: negotiation timed out while {}; closing", client_, what);
    } else {
      log_warn("{}: negotiation failed while {}: {}", client_, what, std::strerror(-rc));
    }
    return false;
  }

  int fd_;
  const HandshakeConfig& config_;
  const ExportState& state_;
  const std::string& client_;
  bool no_zeroes_ = false;
  std::vector<uint8_t> payload_;
};

}  // namespace

HandshakeOutcome run_handshake(int fd, const HandshakeConfig& config, const ExportState& state,
                               const std::string& client) {
  return Negotiation(fd, config, state, client).run();
}

}  // namespace tandem::nbd
