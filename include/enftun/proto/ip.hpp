// Version dispatch for "one IP packet" buffers (TUN reads, frame payloads):
// the version nibble picks the IPv6 or IPv4 parser (RFC 8200 §3, RFC 791 §3.1).
#pragma once

#include "enftun/util/bytes.hpp"
#include "enftun/util/result.hpp"

namespace enftun::proto {

// The version nibble of the first byte; 0 for an empty buffer.
[[nodiscard]] inline int ip_version(Bytes pkt) {
    return pkt.empty() ? 0 : pkt[0] >> 4;
}

// Ok iff `pkt` is a whole IPv6 packet accepted by parse_ipv6 or a whole IPv4
// packet accepted by parse_ipv4. Errors: that parser's error, Truncated for
// an empty buffer, Malformed for any other version nibble.
[[nodiscard]] Status check_ip_packet(Bytes pkt);

} // namespace enftun::proto
