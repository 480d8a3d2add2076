#include "enftun/proto/ipv6.hpp"

#include <algorithm>

namespace enftun::proto {

Ipv6Addr Ipv6View::addr_at(std::size_t off) const {
    Ipv6Addr a;
    const Bytes b = pkt_.subspan(off, kIpv6AddrLen);
    std::copy(b.begin(), b.end(), a.bytes.begin());
    return a;
}

Result<Ipv6View> parse_ipv6(Bytes pkt) {
    if (pkt.size() < kIpv6HeaderLen) {
        return make_error(Errc::Truncated, "IPv6 packet shorter than its header");
    }
    if ((pkt[kIpv6VersionOffset] >> 4) != kIpv6Version) {
        return make_error(Errc::Malformed, "IPv6 version is not 6");
    }
    const std::size_t plen = load_be16(pkt, kIpv6PayloadLengthOffset);
    // RFC 2675 §2: payload length 0 with a payload means a jumbo payload
    // option follows; we neither need nor accept jumbograms.
    if (plen == 0 && pkt.size() > kIpv6HeaderLen) {
        return make_error(Errc::Unsupported, "IPv6 jumbogram");
    }
    // Exact match, as enftun's enftun_ip6_pull did: a shorter buffer would
    // make later layers read past the packet, a longer one hides trailing
    // bytes that a frame or TUN read must not carry.
    if (kIpv6HeaderLen + plen != pkt.size()) {
        return make_error(Errc::Malformed, "IPv6 payload length does not match packet size");
    }
    return Ipv6View(pkt);
}

void build_ipv6_header(packet::PacketWriter& w, std::uint16_t payload_length,
                       std::uint8_t next_header, std::uint8_t hop_limit, const Ipv6Addr& src,
                       const Ipv6Addr& dst) {
    // Version 6, traffic class 0, flow label 0 (RFC 8200 §3, §6, §7).
    w.put_be32(std::uint32_t{kIpv6Version} << 28);
    w.put_be16(payload_length);
    w.put_u8(next_header);
    w.put_u8(hop_limit);
    w.put_bytes(src.bytes);
    w.put_bytes(dst.bytes);
}

} // namespace enftun::proto
