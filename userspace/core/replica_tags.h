// Storage completion tags used by the replica: the top byte names the kind of operation, the rest indexes the
// table entry (or holds the IoRequest pointer for reads). Private to core/replica*.cc.
#pragma once

#include <cstdint>

namespace tandem::tags {
inline constexpr uint8_t kAppRead = 1;
inline constexpr uint8_t kAppWrite = 2;
inline constexpr uint8_t kAppFlush = 3;
inline constexpr uint8_t kPeerWrite = 4;
inline constexpr uint8_t kPeerFlush = 5;
inline constexpr uint8_t kResyncRead = 6;
inline constexpr uint8_t kSyncTargetFlush = 7;
inline constexpr uint8_t kVerifyRead = 8;      // our half of a verify request we sent
inline constexpr uint8_t kPeerVerifyRead = 9;  // the peer's verify request
inline constexpr uint8_t kAlFlush = 10;        // data flush before an activity-log eviction
inline constexpr uint8_t kPromoteFlush = 11;   // data flush before becoming Primary
inline constexpr uint8_t kAlTransaction = 12;  // an activity-log transaction written to its ring slot
inline uint8_t kind(uint64_t tag) { return static_cast<uint8_t>(tag >> 56); }
inline uint64_t index(uint64_t tag) { return tag & ((1ULL << 56) - 1); }
}  // namespace tandem::tags
