#include "enftun/proto/ndp.hpp"

#include <algorithm>

#include "enftun/packet/packet_writer.hpp"
#include "enftun/proto/checksum.hpp"

namespace enftun::proto {

namespace {

std::optional<std::size_t> fixed_len(std::uint8_t type) {
    switch (type) {
    case kIcmpv6RouterSolicitation:
        return kNdRsLen;
    case kIcmpv6RouterAdvertisement:
        return kNdRaLen;
    case kIcmpv6NeighborSolicitation:
        return kNdNsLen;
    case kIcmpv6NeighborAdvertisement:
        return kNdNaLen;
    default:
        return std::nullopt;
    }
}

// RFC 4861 §4.6: every option's length is non-zero and it fits in the
// message; a receiver must drop the message otherwise (§6.1, §7.1).
Status check_options(Bytes opts) {
    while (!opts.empty()) {
        if (opts.size() < 2) {
            return make_error(Errc::Truncated, "ND option header past the end");
        }
        const std::size_t len = std::size_t{opts[1]} * kNdOptUnit;
        if (len == 0) {
            return make_error(Errc::Malformed, "ND option of length 0");
        }
        if (len > opts.size()) {
            return make_error(Errc::Truncated, "ND option runs past the end");
        }
        opts = opts.subspan(len);
    }
    return {};
}

// The per-message rules of RFC 4861 §6.1.1, §6.1.2, §7.1.1 and §7.1.2
// beyond hop limit, code, length and options.
Status check_message(const Ipv6View& ip, const NdView& nd) {
    // RFC 4291 §2.7: a multicast address is never a source. Answering one
    // would send a unicast-style reply (an NA with Solicited set, §7.1.2)
    // to a group, so no ND message from such a source is valid.
    if (ip.src().is_multicast()) {
        return make_error(Errc::Malformed, "ND message from a multicast source");
    }
    const bool from_unspecified = ip.src().is_unspecified();
    const bool has_slla = nd.find_option(kNdOptSourceLinkAddr).has_value();
    switch (nd.type()) {
    case kIcmpv6RouterSolicitation:
        if (from_unspecified && has_slla) {
            return make_error(Errc::Malformed, "RS from :: with a link-layer address");
        }
        return {};
    case kIcmpv6RouterAdvertisement:
        if (!ip.src().is_link_local()) {
            return make_error(Errc::Malformed, "RA source is not link-local");
        }
        return {};
    case kIcmpv6NeighborSolicitation:
        if (nd.target().is_multicast()) {
            return make_error(Errc::Malformed, "NS target is multicast");
        }
        if (from_unspecified && (!is_solicited_node_multicast(ip.dst()) || has_slla)) {
            return make_error(Errc::Malformed, "NS from :: not a valid DAD probe");
        }
        return {};
    default: // kIcmpv6NeighborAdvertisement
        if (nd.target().is_multicast()) {
            return make_error(Errc::Malformed, "NA target is multicast");
        }
        if (ip.dst().is_multicast() && (nd.na_flags() & kNaFlagSolicited) != 0) {
            return make_error(Errc::Malformed, "multicast NA with the Solicited flag");
        }
        return {};
    }
}

// Writes the IPv6 header with a placeholder payload length; seal() fixes it.
void begin_icmpv6(packet::PacketWriter& w, const Ipv6Addr& src, const Ipv6Addr& dst) {
    build_ipv6_header(w, 0, kProtoIcmpv6, kNdHopLimit, src, dst);
}

// Patches the payload length and the ICMPv6 checksum (RFC 4443 §2.3).
Result<std::size_t> seal_icmpv6(packet::PacketWriter& w, const Ipv6Addr& src, const Ipv6Addr& dst) {
    auto len = w.finish();
    if (!len) {
        return len.error();
    }
    if (*len - kIpv6HeaderLen > kIpv6MaxPayload) {
        return make_error(Errc::NoSpace, "ND message too long for an IPv6 payload");
    }
    const MutBytes pkt = w.written();
    store_be16(pkt, kIpv6PayloadLengthOffset, static_cast<std::uint16_t>(*len - kIpv6HeaderLen));
    const MutBytes msg = pkt.subspan(kIpv6HeaderLen);
    store_be16(msg, kIcmpv6ChecksumOffset, ipv6_upper_checksum(src, dst, kProtoIcmpv6, msg));
    return len;
}

void put_link_addr_option(packet::PacketWriter& w, std::uint8_t type, const LinkAddr& addr) {
    w.put_u8(type);
    w.put_u8(kNdOptLinkAddrLen / kNdOptUnit);
    w.put_bytes(addr);
}

std::uint8_t prf_bits(RouterPreference p) {
    return static_cast<std::uint8_t>(static_cast<std::uint8_t>(p) << kNdPrfShift);
}

// RFC 4191 §2.3: Length may be 1, 2 or 3 for a prefix of length 0, 2 or 3
// up to 64 bits, and must be 3 beyond that. Always 3, as radvd and the
// original enftun send it; bits past prefix_len are sent as zero.
void put_route_info(packet::PacketWriter& w, const RouteInfo& r) {
    w.put_u8(kNdOptRouteInfo);
    w.put_u8(kNdOptRouteInfoLen / kNdOptUnit);
    w.put_u8(r.prefix_len);
    w.put_u8(prf_bits(r.preference));
    w.put_be32(r.lifetime_s);
    for (std::size_t i = 0; i < r.prefix.bytes.size(); ++i) {
        const int bits = std::clamp(int{r.prefix_len} - static_cast<int>(8 * i), 0, 8);
        const auto mask = static_cast<std::uint8_t>(0xff00u >> bits);
        w.put_u8(static_cast<std::uint8_t>(r.prefix.bytes[i] & mask));
    }
}

} // namespace

std::optional<Bytes> NdOptionReader::next() {
    if (rest_.size() < 2) {
        return std::nullopt;
    }
    const std::size_t len = std::size_t{rest_[1]} * kNdOptUnit;
    if (len == 0 || len > rest_.size()) {
        rest_ = {};
        return std::nullopt;
    }
    const Bytes opt = rest_.first(len);
    rest_ = rest_.subspan(len);
    return opt;
}

std::optional<Bytes> NdView::find_option(std::uint8_t opt_type) const {
    NdOptionReader r(options());
    while (auto opt = r.next()) {
        if ((*opt)[0] == opt_type) {
            return opt;
        }
    }
    return std::nullopt;
}

Ipv6Addr NdView::target() const {
    Ipv6Addr a;
    const Bytes b = msg_.subspan(kNdTargetOffset, kIpv6AddrLen);
    std::copy(b.begin(), b.end(), a.bytes.begin());
    return a;
}

bool is_solicited_node_multicast(const Ipv6Addr& a) {
    static constexpr std::array<std::uint8_t, 13> kPrefix = {0xff, 0x02, 0, 0, 0,    0,   0,
                                                             0,    0,    0, 0, 0x01, 0xff};
    return std::equal(kPrefix.begin(), kPrefix.end(), a.bytes.begin());
}

Result<NdView> parse_nd(const Ipv6View& ip, const Icmpv6View& icmp) {
    const auto fixed = fixed_len(icmp.type());
    if (!fixed) {
        return make_error(Errc::Unsupported, "not a neighbor discovery message");
    }
    if (ip.hop_limit() != kNdHopLimit) {
        return make_error(Errc::Malformed, "ND message hop limit is not 255");
    }
    if (icmp.code() != 0) {
        return make_error(Errc::Malformed, "ND message code is not 0");
    }
    const Bytes msg = icmp.message();
    if (msg.size() < *fixed) {
        return make_error(Errc::Truncated, "ND message shorter than its fixed part");
    }
    if (auto st = check_options(msg.subspan(*fixed)); !st) {
        return st.error();
    }
    const NdView nd(msg, *fixed);
    if (auto st = check_message(ip, nd); !st) {
        return st.error();
    }
    return nd;
}

Result<std::size_t> build_router_advertisement(const RaParams& p, MutBytes out) {
    for (const RouteInfo& r : p.routes) {
        if (r.prefix_len > 128) {
            return make_error(Errc::Malformed, "route prefix length above 128");
        }
    }
    packet::PacketWriter w(out);
    begin_icmpv6(w, p.src, p.dst);
    w.put_u8(kIcmpv6RouterAdvertisement);
    w.put_u8(0);   // code
    w.put_be16(0); // checksum, patched by seal_icmpv6
    w.put_u8(p.cur_hop_limit);
    w.put_u8(static_cast<std::uint8_t>((p.flags & ~kNdPrfMask) | prf_bits(p.preference)));
    w.put_be16(p.router_lifetime_s);
    w.put_be32(0); // reachable time: unspecified
    w.put_be32(0); // retrans timer: unspecified
    for (const RouteInfo& r : p.routes) {
        put_route_info(w, r);
    }
    if (p.mtu != 0) {
        w.put_u8(kNdOptMtu);
        w.put_u8(kNdOptMtuLen / kNdOptUnit);
        w.put_be16(0); // reserved
        w.put_be32(p.mtu);
    }
    if (p.lladdr) {
        put_link_addr_option(w, kNdOptSourceLinkAddr, *p.lladdr);
    }
    return seal_icmpv6(w, p.src, p.dst);
}

Result<std::size_t> build_neighbor_advertisement(const NaParams& p, MutBytes out) {
    packet::PacketWriter w(out);
    begin_icmpv6(w, p.src, p.dst);
    w.put_u8(kIcmpv6NeighborAdvertisement);
    w.put_u8(0);   // code
    w.put_be16(0); // checksum, patched by seal_icmpv6
    w.put_u8(p.flags);
    w.put_zeros(3); // reserved
    w.put_bytes(p.target.bytes);
    if (p.lladdr) {
        put_link_addr_option(w, kNdOptTargetLinkAddr, *p.lladdr);
    }
    return seal_icmpv6(w, p.src, p.dst);
}

} // namespace enftun::proto
