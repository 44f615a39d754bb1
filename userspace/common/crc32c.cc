#include "common/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace tandem {
namespace {

// Table for the reflected Castagnoli polynomial; the portable fallback.
constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kTable = make_table();

uint32_t crc32c_table(const uint8_t* p, size_t len, uint32_t crc) {
  for (size_t i = 0; i < len; i++) crc = kTable[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
// Every data frame is checksummed, so the checksum must run at memory speed: use the SSE4.2 crc32
// instruction. One dependent chain of crc32 instructions is latency-bound (3 cycles per 8 bytes), so large
// buffers are processed as three interleaved lanes whose CRCs are then combined (CRC is linear: the CRC of
// A‖B equals CRC(A) shifted over |B| zero bytes, xor CRC(B) started from zero).

constexpr size_t kLaneBytes = 4096;

using Gf2Matrix = std::array<uint32_t, 32>;  // column i = image of bit i

uint32_t gf2_times(const Gf2Matrix& m, uint32_t v) {
  uint32_t sum = 0;
  for (int i = 0; v; i++, v >>= 1)
    if (v & 1) sum ^= m[i];
  return sum;
}

Gf2Matrix gf2_compose(const Gf2Matrix& a, const Gf2Matrix& b) {  // a after b
  Gf2Matrix r{};
  for (int i = 0; i < 32; i++) r[i] = gf2_times(a, b[i]);
  return r;
}

// The operator that advances a raw CRC register over `bytes` zero bytes.
Gf2Matrix zeros_operator(size_t bytes) {
  Gf2Matrix one_bit{};
  one_bit[0] = 0x82F63B78u;
  for (int i = 1; i < 32; i++) one_bit[i] = 1u << (i - 1);
  Gf2Matrix byte_op = one_bit;
  for (int i = 0; i < 3; i++) byte_op = gf2_compose(byte_op, byte_op);  // 8 bits
  Gf2Matrix result{};
  for (int i = 0; i < 32; i++) result[i] = 1u << i;  // identity
  for (Gf2Matrix p = byte_op; bytes; bytes >>= 1, p = gf2_compose(p, p))
    if (bytes & 1) result = gf2_compose(p, result);
  return result;
}

const Gf2Matrix kShiftLane = zeros_operator(kLaneBytes);

__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(const uint8_t* p, size_t len, uint32_t crc) {
  uint64_t c = crc;
  while (len >= 3 * kLaneBytes) {
    uint64_t a = c, b = 0, d = 0;
    const uint8_t* p1 = p + kLaneBytes;
    const uint8_t* p2 = p + 2 * kLaneBytes;
    for (size_t i = 0; i < kLaneBytes; i += 8) {
      uint64_t va, vb, vd;
      std::memcpy(&va, p + i, 8);
      std::memcpy(&vb, p1 + i, 8);
      std::memcpy(&vd, p2 + i, 8);
      a = _mm_crc32_u64(a, va);
      b = _mm_crc32_u64(b, vb);
      d = _mm_crc32_u64(d, vd);
    }
    uint32_t r = gf2_times(kShiftLane, static_cast<uint32_t>(a)) ^ static_cast<uint32_t>(b);
    c = gf2_times(kShiftLane, r) ^ static_cast<uint32_t>(d);
    p += 3 * kLaneBytes;
    len -= 3 * kLaneBytes;
  }
  while (len >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    len -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (len--) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}
const bool kHaveSse42 = __builtin_cpu_supports("sse4.2");
#endif

}  // namespace

uint32_t crc32c(const void* data, size_t len, uint32_t crc) {
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
#if defined(__x86_64__)
  if (kHaveSse42) return ~crc32c_sse42(p, len, crc);
#endif
  return ~crc32c_table(p, len, crc);
}

}  // namespace tandem
