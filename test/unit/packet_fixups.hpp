// Helpers for tests that damage a real packet in one field and must keep
// every other check passing: recompute the IPv6 payload length, the UDP
// length and the upper-layer checksum after an edit.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "enftun/proto/checksum.hpp"
#include "enftun/proto/icmpv6.hpp"
#include "enftun/proto/ipv6.hpp"
#include "enftun/proto/udp.hpp"
#include "enftun/util/bytes.hpp"

namespace fixup {

inline enftun::proto::Ipv6Addr addr_at(const std::vector<std::uint8_t>& pkt, std::size_t off) {
    enftun::proto::Ipv6Addr a;
    std::copy_n(pkt.begin() + static_cast<std::ptrdiff_t>(off), 16, a.bytes.begin());
    return a;
}

// Sets the IPv6 payload length to the packet's real size.
inline void payload_length(std::vector<std::uint8_t>& pkt) {
    enftun::store_be16(pkt, enftun::proto::kIpv6PayloadLengthOffset,
                       static_cast<std::uint16_t>(pkt.size() - enftun::proto::kIpv6HeaderLen));
}

// Recomputes the checksum at `csum_off` (offset in the upper-layer message).
inline void upper_checksum(std::vector<std::uint8_t>& pkt, std::size_t csum_off) {
    using namespace enftun::proto;
    const enftun::MutBytes msg = enftun::MutBytes(pkt).subspan(kIpv6HeaderLen);
    enftun::store_be16(msg, csum_off, 0);
    const std::uint16_t sum =
        ipv6_upper_checksum(addr_at(pkt, kIpv6SrcOffset), addr_at(pkt, kIpv6DstOffset),
                            pkt[kIpv6NextHeaderOffset], msg);
    enftun::store_be16(msg, csum_off, sum);
}

// After resizing or editing an ICMPv6 packet: length and checksum.
inline void icmpv6(std::vector<std::uint8_t>& pkt) {
    payload_length(pkt);
    upper_checksum(pkt, enftun::proto::kIcmpv6ChecksumOffset);
}

// After resizing or editing a UDP packet: both lengths and the checksum
// (a computed 0 is sent as 0xffff, RFC 768).
inline void udp(std::vector<std::uint8_t>& pkt) {
    using namespace enftun::proto;
    payload_length(pkt);
    enftun::store_be16(enftun::MutBytes(pkt).subspan(kIpv6HeaderLen), kUdpLengthOffset,
                       static_cast<std::uint16_t>(pkt.size() - kIpv6HeaderLen));
    upper_checksum(pkt, kUdpChecksumOffset);
    const std::size_t off = kIpv6HeaderLen + kUdpChecksumOffset;
    if (pkt[off] == 0 && pkt[off + 1] == 0) {
        pkt[off] = pkt[off + 1] = 0xff;
    }
}

} // namespace fixup
