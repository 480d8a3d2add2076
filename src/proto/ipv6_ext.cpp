#include "enftun/proto/ipv6_ext.hpp"

namespace enftun::proto {

namespace {

bool is_walked(std::uint8_t nh) {
    return nh == kProtoHopByHop || nh == kProtoRouting || nh == kProtoFragment ||
           nh == kProtoDestOptions || nh == kProtoAuth;
}

// The length of the extension header at `h` (its first two bytes read).
std::size_t header_len(std::uint8_t nh, Bytes h) {
    if (nh == kProtoFragment) {
        return kIpv6FragmentHeaderLen;
    }
    if (nh == kProtoAuth) {
        return (std::size_t{h[1]} + 2) * 4;
    }
    return (std::size_t{h[1]} + 1) * 8; // RFC 8200 §4.3, §4.4, §4.6
}

} // namespace

std::optional<UpperLayer> find_upper_layer(const Ipv6View& ip) {
    const Bytes pkt = ip.packet();
    UpperLayer u;
    u.protocol = ip.next_header();
    u.offset = kIpv6HeaderLen;
    // Each header is at least 8 bytes, so the walk ends within the packet.
    while (is_walked(u.protocol)) {
        const Bytes rest = pkt.subspan(u.offset);
        if (rest.size() < 2) {
            return std::nullopt;
        }
        const std::size_t len = header_len(u.protocol, rest);
        if (len > rest.size()) {
            return std::nullopt;
        }
        if (u.protocol == kProtoFragment) {
            u.fragment = true;
            if ((load_be16(rest, kIpv6FragmentOffsetOffset) & kIpv6FragmentOffsetMask) != 0) {
                u.first_fragment = false;
                u.protocol = rest[0];
                u.offset += len;
                u.extension_headers = true;
                return u; // the rest is the middle of a packet, not headers
            }
        }
        u.protocol = rest[0];
        u.offset += len;
        u.extension_headers = true;
    }
    return u;
}

std::optional<std::uint8_t> nd_type(const Ipv6View& ip) {
    const auto upper = find_upper_layer(ip);
    if (!upper || !upper->first_fragment || upper->protocol != kProtoIcmpv6 ||
        upper->offset >= ip.packet().size() || !is_nd_type(ip.packet()[upper->offset])) {
        return std::nullopt;
    }
    return ip.packet()[upper->offset];
}

} // namespace enftun::proto
