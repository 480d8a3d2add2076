#include "enftun/proto/ipv4.hpp"

namespace enftun::proto {

bool is_routable_unicast(const Ipv4Addr& addr) {
    const std::uint8_t first = addr[0];
    const bool this_network = first == 0;
    const bool loopback = first == 127;
    const bool link_local = first == 169 && addr[1] == 254;
    const bool multicast_or_reserved = first >= 224;
    return !(this_network || loopback || link_local || multicast_or_reserved);
}

namespace {

std::uint32_t as_u32(const Ipv4Addr& a) {
    return std::uint32_t{a[0]} << 24 | std::uint32_t{a[1]} << 16 | std::uint32_t{a[2]} << 8 |
           std::uint32_t{a[3]};
}

std::uint32_t mask_of(const Ipv4Prefix& prefix) {
    return prefix.len == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix.len);
}

} // namespace

bool in_prefix(const Ipv4Prefix& prefix, const Ipv4Addr& addr) {
    const std::uint32_t mask = mask_of(prefix);
    return (as_u32(prefix.addr) & mask) == (as_u32(addr) & mask);
}

bool is_subnet_edge(const Ipv4Prefix& prefix, const Ipv4Addr& addr) {
    if (prefix.len > 30 || !in_prefix(prefix, addr)) {
        return false;
    }
    const std::uint32_t host = as_u32(addr) & ~mask_of(prefix);
    return host == 0 || host == ~mask_of(prefix);
}

Result<Ipv4View> parse_ipv4(Bytes pkt) {
    if (pkt.size() < kIpv4MinHeaderLen) {
        return make_error(Errc::Truncated, "IPv4 packet shorter than its header");
    }
    const std::uint8_t vihl = pkt[kIpv4VersionIhlOffset];
    if ((vihl >> 4) != kIpv4Version) {
        return make_error(Errc::Malformed, "IPv4 version is not 4");
    }
    if ((vihl & 0x0fu) < kIpv4MinIhl) {
        return make_error(Errc::Malformed, "IPv4 header length below 20 bytes");
    }
    const std::size_t header_len = std::size_t{4} * (vihl & 0x0fu);
    const std::size_t total_len = load_be16(pkt, kIpv4TotalLengthOffset);
    if (header_len > total_len) {
        return make_error(Errc::Malformed, "IPv4 header longer than the packet");
    }
    // Exact match: one buffer holds exactly one packet (see parse_ipv6).
    if (total_len != pkt.size()) {
        return make_error(Errc::Malformed, "IPv4 total length does not match packet size");
    }
    return Ipv4View(pkt);
}

} // namespace enftun::proto
