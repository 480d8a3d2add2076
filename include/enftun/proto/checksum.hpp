// Internet checksum (RFC 1071) over byte spans, and the IPv6 upper-layer
// checksum with its pseudo-header (RFC 8200 §8.1). Pure functions; bytes are
// read with shifts, never through a cast to uint16_t*, so any alignment works.
#pragma once

#include <cstdint>

#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/util/bytes.hpp"

namespace enftun::proto {

// Adds `data`, read as big-endian 16-bit words, to the running one's-complement
// sum `sum` (start with 0) and returns the new running sum. The value returned
// is only meaningful to checksum_add and checksum_fold.
//
// Chunking rule: calling checksum_add on consecutive chunks gives the same
// result as one call over their concatenation provided every chunk but the
// last has even length. An odd-length chunk is padded with one zero byte
// (RFC 1071 §4.1), which would shift every later byte into the wrong half of
// its word. The start address of a chunk does not matter.
[[nodiscard]] std::uint32_t checksum_add(std::uint32_t sum, Bytes data);

// Folds the carries of a running sum into 16 bits and returns its one's
// complement: the value to store in a checksum field, or 0 when verifying a
// message whose checksum field was included in the sum and is correct.
[[nodiscard]] std::uint16_t checksum_fold(std::uint32_t sum);

// Checksum of an upper-layer message (`upper` = ICMPv6/UDP/TCP header and
// data) with the RFC 8200 §8.1 pseudo-header: source, destination, 32-bit
// upper-layer length, three zero bytes and the next-header value.
// `upper` is summed as it is, checksum field included:
//   - to verify, pass the received message; a correct one yields 0;
//   - to build, zero the checksum field first and store the result.
// UDP callers must send a computed 0 as 0xffff (RFC 8200 §8.1, RFC 768);
// ICMPv6 has no such rule.
[[nodiscard]] std::uint16_t ipv6_upper_checksum(const Ipv6Addr& src, const Ipv6Addr& dst,
                                                std::uint8_t next_header, Bytes upper);

} // namespace enftun::proto
