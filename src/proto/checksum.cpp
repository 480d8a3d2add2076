#include "enftun/proto/checksum.hpp"

namespace enftun::proto {

namespace {

// Big-endian 64-bit load by shifts; compilers turn it into one load and a
// byte swap, so it stays alignment-safe without being slow.
std::uint64_t load_be64(const std::uint8_t* p) {
    return (std::uint64_t{p[0]} << 56) | (std::uint64_t{p[1]} << 48) | (std::uint64_t{p[2]} << 40) |
           (std::uint64_t{p[3]} << 32) | (std::uint64_t{p[4]} << 24) | (std::uint64_t{p[5]} << 16) |
           (std::uint64_t{p[6]} << 8) | std::uint64_t{p[7]};
}

// One's-complement addition on 64 bits: add and wrap the carry back in.
// Since 2^64 = 1 (mod 0xffff), this sum folds to the same 16-bit value as
// adding the four 16-bit words one at a time (RFC 1071 §2(B), §2(C)).
std::uint64_t add_carry64(std::uint64_t acc, std::uint64_t v) {
    acc += v;
    return acc + (acc < v ? 1 : 0);
}

// Folds a 64-bit one's-complement sum to 32 bits. A non-zero sum stays
// non-zero, so the fold keeps RFC 1071's distinction between +0 and -0.
std::uint32_t fold64(std::uint64_t acc) {
    acc = (acc & 0xffffffffu) + (acc >> 32);
    acc = (acc & 0xffffffffu) + (acc >> 32);
    return static_cast<std::uint32_t>(acc);
}

} // namespace

std::uint32_t checksum_add(std::uint32_t sum, Bytes data) {
    std::uint64_t acc = sum;
    const std::uint8_t* p = data.data();
    std::size_t n = data.size();
    // Fast path: eight bytes (four words) per step.
    for (; n >= 8; p += 8, n -= 8) {
        acc = add_carry64(acc, load_be64(p));
    }
    // Tail: whole words, then an odd byte padded with zero (RFC 1071 §4.1).
    for (; n >= 2; p += 2, n -= 2) {
        acc = add_carry64(acc, static_cast<std::uint64_t>((p[0] << 8) | p[1]));
    }
    if (n == 1) {
        acc = add_carry64(acc, static_cast<std::uint64_t>(p[0] << 8));
    }
    return fold64(acc);
}

std::uint16_t checksum_fold(std::uint32_t sum) {
    while ((sum >> 16) != 0) {
        sum = (sum & 0xffffu) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum & 0xffffu);
}

std::uint16_t ipv6_upper_checksum(const Ipv6Addr& src, const Ipv6Addr& dst,
                                  std::uint8_t next_header, Bytes upper) {
    // RFC 8200 §8.1 pseudo-header: the addresses are summed in place; the
    // 32-bit length, three zero bytes and the next header go through a small
    // buffer so every addition goes through checksum_add's carry handling.
    const auto len = static_cast<std::uint32_t>(upper.size());
    std::uint32_t sum = checksum_add(0, src.bytes);
    sum = checksum_add(sum, dst.bytes);
    const std::uint8_t tail[8] = {static_cast<std::uint8_t>(len >> 24),
                                  static_cast<std::uint8_t>(len >> 16),
                                  static_cast<std::uint8_t>(len >> 8),
                                  static_cast<std::uint8_t>(len),
                                  0,
                                  0,
                                  0,
                                  next_header};
    sum = checksum_add(sum, tail);
    return checksum_fold(checksum_add(sum, upper));
}

} // namespace enftun::proto
