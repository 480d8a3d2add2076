// Fuzz target: parse_nd (RFC 4861 receiver checks) and the RA/NA builders.
//
// Input: one flags byte, then an IPv6 packet. Random bytes almost never
// carry a valid length, checksum and hop limit, so the flags repair them:
//   bit 0: set the IPv6 payload length to match the input;
//   bit 1: set the hop limit to 255;
//   bit 2: recompute the ICMPv6 checksum (after bits 0 and 1).
// An accepted RS or NS is answered as the router card would (an RA whose
// routes come from the input bytes, an NA for the target); the answer must
// parse back as a valid ND message with the expected contents.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

#include "enftun/proto/checksum.hpp"
#include "enftun/proto/icmpv6.hpp"
#include "enftun/proto/ipv6.hpp"
#include "enftun/proto/ndp.hpp"
#include "fuzz_check.hpp"

using namespace enftun;

namespace {

constexpr std::size_t kMaxPacket = proto::kIpv6HeaderLen + proto::kIpv6MaxPayload;
std::array<std::uint8_t, kMaxPacket> g_pkt;
std::array<std::uint8_t, 2048> g_out;
std::array<proto::RouteInfo, 8> g_routes;

proto::Ipv6Addr addr_at(Bytes pkt, std::size_t off) {
    proto::Ipv6Addr a;
    std::copy_n(pkt.begin() + static_cast<std::ptrdiff_t>(off), 16, a.bytes.begin());
    return a;
}

void repair(std::uint8_t flags, MutBytes pkt) {
    if (pkt.size() < proto::kIpv6HeaderLen) {
        return;
    }
    const std::size_t plen = pkt.size() - proto::kIpv6HeaderLen;
    if ((flags & 1) != 0) {
        store_be16(pkt, proto::kIpv6PayloadLengthOffset, static_cast<std::uint16_t>(plen));
    }
    if ((flags & 2) != 0) {
        pkt[proto::kIpv6HopLimitOffset] = proto::kNdHopLimit;
    }
    if ((flags & 4) != 0 && plen >= proto::kIcmpv6HeaderLen) {
        const MutBytes msg = pkt.subspan(proto::kIpv6HeaderLen);
        store_be16(msg, proto::kIcmpv6ChecksumOffset, 0);
        store_be16(msg, proto::kIcmpv6ChecksumOffset,
                   proto::ipv6_upper_checksum(addr_at(pkt, proto::kIpv6SrcOffset),
                                              addr_at(pkt, proto::kIpv6DstOffset),
                                              pkt[proto::kIpv6NextHeaderOffset], msg));
    }
}

// Parses g_out[0..len) down to ND; it must be valid.
proto::NdView reparse(std::size_t len) {
    auto ip = proto::parse_ipv6(Bytes(g_out).first(len));
    FUZZ_CHECK(ip.has_value());
    auto icmp = proto::parse_icmpv6(*ip);
    FUZZ_CHECK(icmp.has_value());
    auto nd = proto::parse_nd(*ip, *icmp);
    FUZZ_CHECK(nd.has_value());
    return *nd;
}

// The options of a valid message are walked completely, option by option.
void check_options(const proto::NdView& nd) {
    proto::NdOptionReader r(nd.options());
    std::size_t walked = 0;
    while (auto opt = r.next()) {
        FUZZ_CHECK(opt->size() >= proto::kNdOptUnit && opt->size() % proto::kNdOptUnit == 0);
        FUZZ_CHECK(nd.find_option((*opt)[0]).has_value());
        walked += opt->size();
    }
    FUZZ_CHECK(walked == nd.options().size());
}

void answer_rs(Bytes seed) {
    std::size_t n = std::min<std::size_t>(seed.size() / 20, g_routes.size());
    for (std::size_t i = 0; i < n; ++i) {
        const Bytes s = seed.subspan(i * 20, 20);
        proto::RouteInfo& r = g_routes[i];
        std::copy_n(s.begin(), 16, r.prefix.bytes.begin());
        r.prefix_len = static_cast<std::uint8_t>(s[16] % 129);
        r.preference =
            (s[17] & 1) != 0 ? proto::RouterPreference::High : proto::RouterPreference::Low;
        r.lifetime_s = load_be16(s, 18);
    }
    proto::RaParams p;
    p.src = proto::kRouterLinkLocal;
    p.dst = proto::kAllNodes;
    p.flags = proto::kRaFlagManaged;
    p.preference = proto::RouterPreference::High;
    p.router_lifetime_s = static_cast<std::uint16_t>(seed.size());
    p.mtu = 1280;
    if (seed.size() % 2 == 1) {
        p.lladdr = proto::LinkAddr{2, 0, 0, 0, 0, 1};
    }
    p.routes = std::span<const proto::RouteInfo>(g_routes.data(), n);
    auto len = proto::build_router_advertisement(p, g_out);
    FUZZ_CHECK(len.has_value());
    const proto::NdView ra = reparse(*len);
    FUZZ_CHECK(ra.type() == proto::kIcmpv6RouterAdvertisement);
    FUZZ_CHECK(ra.router_lifetime() == p.router_lifetime_s);
    FUZZ_CHECK(ra.options().size() == n * proto::kNdOptRouteInfoLen + proto::kNdOptMtuLen +
                                          (p.lladdr ? proto::kNdOptLinkAddrLen : 0));
    check_options(ra);
}

void answer_ns(const proto::NdView& ns, const proto::Ipv6View& ip) {
    proto::NaParams p;
    p.src = proto::kRouterLinkLocal;
    p.target = ns.target();
    p.dst = ip.src().is_unspecified() ? proto::kAllNodes : ip.src();
    p.flags = proto::kNaFlagRouter | proto::kNaFlagOverride |
              (ip.src().is_unspecified() ? 0 : proto::kNaFlagSolicited);
    auto len = proto::build_neighbor_advertisement(p, g_out);
    FUZZ_CHECK(len.has_value());
    // parse_nd never accepts an NS from a multicast source, so our reply
    // never goes to a group with the Solicited flag set (RFC 4861 §7.1.2).
    FUZZ_CHECK(!ip.src().is_multicast());
    const proto::NdView na = reparse(*len);
    FUZZ_CHECK(na.type() == proto::kIcmpv6NeighborAdvertisement);
    FUZZ_CHECK(na.target() == ns.target());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0 || size - 1 > kMaxPacket) {
        return 0;
    }
    const MutBytes pkt = MutBytes(g_pkt).first(size - 1);
    std::copy_n(data + 1, size - 1, pkt.begin());
    repair(data[0], pkt);
    auto ip = proto::parse_ipv6(pkt);
    if (!ip) {
        return 0;
    }
    auto icmp = proto::parse_icmpv6(*ip);
    if (!icmp) {
        return 0;
    }
    auto nd = proto::parse_nd(*ip, *icmp);
    if (!nd) {
        return 0;
    }
    FUZZ_CHECK(ip->hop_limit() == proto::kNdHopLimit && icmp->code() == 0);
    check_options(*nd);
    if (nd->type() == proto::kIcmpv6RouterSolicitation) {
        answer_rs(nd->message());
    } else if (nd->type() == proto::kIcmpv6NeighborSolicitation) {
        FUZZ_CHECK(!nd->target().is_multicast());
        answer_ns(*nd, *ip);
    }
    return 0;
}
