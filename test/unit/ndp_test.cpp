// Unit tests for proto/ndp: RFC 4861 validity checks on kernel and radvd
// messages and on copies damaged in exactly one field, and the RA/NA
// builders checked byte for byte against radvd and the kernel.
#include "test.hpp"

#include <array>
#include <vector>

#include "enftun/proto/ndp.hpp"
#include "packet_fixups.hpp"
#include "packet_vectors.hpp"
#include "routercard_vectors.hpp"

using enftun::Bytes;
using enftun::Errc;
using enftun::MutBytes;
using enftun::Result;
using namespace enftun::proto;

namespace {

using Pkt = std::vector<std::uint8_t>;

Pkt g_pkt;
Pkt g_want;
std::array<std::uint8_t, 2048> g_out;

constexpr std::size_t kMsg = kIpv6HeaderLen; // offset of the ICMPv6 message
const LinkAddr kMacA = {0x02, 0, 0, 0, 0, 0x0a};
const LinkAddr kMacB = {0x02, 0, 0, 0, 0, 0x0b};
const Ipv6Addr kFe80A = *Ipv6Addr::parse("fe80::a");

// Parses g_pkt down to NDP; the IPv6 and ICMPv6 layers must accept it.
Result<NdView> parse_g_pkt() {
    auto ip = parse_ipv6(g_pkt);
    assert_true(ip.has_value());
    auto icmp = parse_icmpv6(*ip);
    assert_true(icmp.has_value());
    return parse_nd(*ip, *icmp);
}

Errc nd_errc() {
    auto nd = parse_g_pkt();
    return nd ? Errc::Ok : nd.error().code;
}

void set_addr(Pkt& p, std::size_t off, const char* text) {
    const Ipv6Addr a = *Ipv6Addr::parse(text);
    std::copy(a.bytes.begin(), a.bytes.end(), p.begin() + static_cast<std::ptrdiff_t>(off));
}

void test_parse_valid_messages(void**) {
    static const struct {
        const char* name;
        const char* pkt;
        std::uint8_t type;
    } cases[] = {
        {"kernel RS", vec::kRouterSolicitation, kIcmpv6RouterSolicitation},
        {"kernel NS", rcvec::kNsForRouter, kIcmpv6NeighborSolicitation},
        {"kernel DAD NS", rcvec::kDadNs, kIcmpv6NeighborSolicitation},
        {"kernel NA", rcvec::kNaFromKernel, kIcmpv6NeighborAdvertisement},
        {"kernel DAD NA", rcvec::kDadNaFromKernel, kIcmpv6NeighborAdvertisement},
        {"radvd RA", rcvec::kRaRadvdRoutes, kIcmpv6RouterAdvertisement},
        {"radvd RA default", rcvec::kRaRadvdDefault, kIcmpv6RouterAdvertisement},
    };
    for (const auto& c : cases) {
        g_pkt = hex(c.pkt);
        auto nd = parse_g_pkt();
        if (!nd) {
            fail_msg("%s: %s", c.name, nd.error().what);
        }
        assert_int_equal(nd->type(), c.type);
    }
}

void test_ns_fields(void**) {
    g_pkt = hex(rcvec::kNsForRouter);
    auto nd = parse_g_pkt();
    assert_true(nd.has_value());
    assert_true(nd->target() == kRouterLinkLocal);
    auto slla = nd->find_option(kNdOptSourceLinkAddr);
    assert_true(slla.has_value());
    assert_int_equal(slla->size(), 8);
    assert_memory_equal(slla->data() + 2, kMacA.data(), kMacA.size());
    assert_false(nd->find_option(kNdOptTargetLinkAddr).has_value());
}

void test_ra_fields_and_options(void**) {
    g_pkt = hex(rcvec::kRaRadvdDefault);
    auto nd = parse_g_pkt();
    assert_true(nd.has_value());
    assert_int_equal(nd->router_lifetime(), 1800);
    assert_int_equal(nd->ra_flags() & kRaFlagManaged, kRaFlagManaged);
    assert_int_equal(nd->ra_flags() & kNdPrfMask, 1 << kNdPrfShift); // high
    static const std::uint8_t want[] = {kNdOptRouteInfo, kNdOptRouteInfo, kNdOptRouteInfo,
                                        kNdOptMtu, kNdOptSourceLinkAddr};
    NdOptionReader r(nd->options());
    for (std::uint8_t type : want) {
        auto opt = r.next();
        assert_true(opt.has_value());
        assert_int_equal((*opt)[0], type);
    }
    assert_false(r.next().has_value());
}

// The option reader stops at the first option that does not fit.
void test_option_reader_on_bad_bytes(void**) {
    static const std::uint8_t len0[] = {1, 0, 0, 0, 0, 0, 0, 0};
    static const std::uint8_t past_end[] = {1, 2, 0, 0, 0, 0, 0, 0};
    static const std::uint8_t one_byte[] = {1};
    static const std::uint8_t good_then_bad[] = {5, 1, 0, 0, 0, 0, 5, 0, 1, 0};
    assert_false(NdOptionReader(len0).next().has_value());
    assert_false(NdOptionReader(past_end).next().has_value());
    assert_false(NdOptionReader(one_byte).next().has_value());
    NdOptionReader r(good_then_bad);
    assert_true(r.next().has_value());
    assert_false(r.next().has_value());
}

using Edit = void (*)(Pkt&);

// Each case damages one field of a valid message, then repairs lengths and
// checksum so that only NDP's own checks can reject it.
void test_parse_nd_errors(void**) {
    static const struct {
        const char* name;
        const char* pkt;
        Edit edit;
        Errc want;
    } cases[] = {
        {"RS hop limit 254", vec::kRouterSolicitation, [](Pkt& p) { p[kIpv6HopLimitOffset] = 254; },
         Errc::Malformed},
        {"NS hop limit 64", rcvec::kNsForRouter, [](Pkt& p) { p[kIpv6HopLimitOffset] = 64; },
         Errc::Malformed},
        {"RS code 1", vec::kRouterSolicitation, [](Pkt& p) { p[kMsg + 1] = 1; }, Errc::Malformed},
        {"NS code 1", rcvec::kNsForRouter, [](Pkt& p) { p[kMsg + 1] = 1; }, Errc::Malformed},
        {"RS of 7 bytes", vec::kRouterSolicitation, [](Pkt& p) { p.resize(kMsg + 7); },
         Errc::Truncated},
        {"RA of 15 bytes", rcvec::kRaRadvdRoutes, [](Pkt& p) { p.resize(kMsg + 15); },
         Errc::Truncated},
        {"NS of 23 bytes", rcvec::kNsForRouter, [](Pkt& p) { p.resize(kMsg + 23); },
         Errc::Truncated},
        {"NA of 20 bytes", rcvec::kNaFromKernel, [](Pkt& p) { p.resize(kMsg + 20); },
         Errc::Truncated},
        {"option length 0", rcvec::kNsForRouter, [](Pkt& p) { p[kMsg + 25] = 0; }, Errc::Malformed},
        {"option past the end", rcvec::kNsForRouter, [](Pkt& p) { p[kMsg + 25] = 2; },
         Errc::Truncated},
        {"option header cut", rcvec::kNsForRouter, [](Pkt& p) { p.resize(kMsg + 25); },
         Errc::Truncated},
        {"RA option length 0", rcvec::kRaRadvdRoutes, [](Pkt& p) { p[kMsg + 17] = 0; },
         Errc::Malformed},
        {"RA last option past the end", rcvec::kRaRadvdRoutes, [](Pkt& p) { p.pop_back(); },
         Errc::Truncated},
        {"RS from :: with SLLA", vec::kRouterSolicitation,
         [](Pkt& p) {
             set_addr(p, kIpv6SrcOffset, "::");
             p.insert(p.end(), {1, 1, 2, 0, 0, 0, 0, 0x0a});
         },
         Errc::Malformed},
        {"RA from a global address", rcvec::kRaRadvdRoutes,
         [](Pkt& p) { set_addr(p, kIpv6SrcOffset, "fd00::1"); }, Errc::Malformed},
        {"NS target multicast", rcvec::kNsForRouter,
         [](Pkt& p) { set_addr(p, kMsg + kNdTargetOffset, "ff02::1"); }, Errc::Malformed},
        {"DAD NS not to a solicited-node group", rcvec::kDadNs,
         [](Pkt& p) { set_addr(p, kIpv6DstOffset, "ff02::1"); }, Errc::Malformed},
        {"DAD NS with SLLA", rcvec::kDadNs, [](Pkt& p) { p[kMsg + 24] = kNdOptSourceLinkAddr; },
         Errc::Malformed},
        {"NA target multicast", rcvec::kNaFromKernel,
         [](Pkt& p) { set_addr(p, kMsg + kNdTargetOffset, "ff02::2"); }, Errc::Malformed},
        {"multicast NA with Solicited", rcvec::kDadNaFromKernel,
         [](Pkt& p) { p[kMsg + kNdNaFlagsOffset] |= kNaFlagSolicited; }, Errc::Malformed},
        {"RS from a multicast source", vec::kRouterSolicitation,
         [](Pkt& p) { set_addr(p, kIpv6SrcOffset, "ff02::1"); }, Errc::Malformed},
        {"RA from a multicast source", rcvec::kRaRadvdRoutes,
         [](Pkt& p) { set_addr(p, kIpv6SrcOffset, "ff02::2"); }, Errc::Malformed},
        {"NS from a multicast source", rcvec::kNsForRouter,
         [](Pkt& p) { set_addr(p, kIpv6SrcOffset, "ff02::1"); }, Errc::Malformed},
        {"NS from a global-scope multicast source", rcvec::kNsForRouter,
         [](Pkt& p) { set_addr(p, kIpv6SrcOffset, "ff0e::1"); }, Errc::Malformed},
        {"NA from a multicast source", rcvec::kNaFromKernel,
         [](Pkt& p) { set_addr(p, kIpv6SrcOffset, "ff02::1"); }, Errc::Malformed},
        {"echo request", vec::kEchoOdd, [](Pkt&) {}, Errc::Unsupported},
        {"redirect (137)", rcvec::kNaFromKernel, [](Pkt& p) { p[kMsg] = 137; }, Errc::Unsupported},
    };
    for (const auto& c : cases) {
        g_pkt = hex(c.pkt);
        c.edit(g_pkt);
        fixup::icmpv6(g_pkt);
        const Errc got = nd_errc();
        if (got != c.want) {
            fail_msg("%s: got errc %d, want %d", c.name, static_cast<int>(got),
                     static_cast<int>(c.want));
        }
    }
}

void test_solicited_node_multicast(void**) {
    assert_true(is_solicited_node_multicast(*Ipv6Addr::parse("ff02::1:ff00:1")));
    assert_true(is_solicited_node_multicast(*Ipv6Addr::parse("ff02::1:ffab:cdef")));
    assert_false(is_solicited_node_multicast(*Ipv6Addr::parse("ff02::1")));
    assert_false(is_solicited_node_multicast(*Ipv6Addr::parse("ff02::2:ff00:1")));
    assert_false(is_solicited_node_multicast(*Ipv6Addr::parse("ff05::1:ff00:1")));
}

// Compares g_out[0..n) with g_want, ignoring the flow label (radvd's socket
// had the kernel's auto flow label; it is not covered by the checksum).
void expect_same_but_flow_label(std::size_t n) {
    assert_int_equal(n, g_want.size());
    g_want[1] &= 0xf0;
    g_want[2] = 0;
    g_want[3] = 0;
    assert_memory_equal(g_out.data(), g_want.data(), n);
}

const std::array<RouteInfo, 2> kRadvdRoutes = {
    RouteInfo{*Ipv6Addr::parse("fd00:e::"), 64, RouterPreference::High, 1800},
    RouteInfo{*Ipv6Addr::parse("fd00:f::"), 64, RouterPreference::High, 1800},
};
const std::array<RouteInfo, 3> kRadvdDefaultRoutes = {
    RouteInfo{Ipv6Addr{}, 0, RouterPreference::High, 1800},
    RouteInfo{*Ipv6Addr::parse("fd00:e::"), 64, RouterPreference::High, 1800},
    RouteInfo{*Ipv6Addr::parse("fd00:e:1:2:3::"), 80, RouterPreference::High, 1800},
};

RaParams radvd_params() {
    RaParams p;
    p.src = kRouterLinkLocal;
    p.dst = kAllNodes;
    p.flags = kRaFlagManaged;
    p.preference = RouterPreference::High;
    p.mtu = 1280;
    return p;
}

void test_build_ra_matches_radvd(void**) {
    RaParams p = radvd_params();
    p.routes = kRadvdRoutes;
    auto n = build_router_advertisement(p, g_out);
    assert_true(n.has_value());
    g_want = hex(rcvec::kRaRadvdRoutes);
    expect_same_but_flow_label(*n);
}

void test_build_ra_default_matches_radvd(void**) {
    RaParams p = radvd_params();
    p.router_lifetime_s = 1800;
    p.lladdr = kMacB;
    p.routes = kRadvdDefaultRoutes;
    auto n = build_router_advertisement(p, g_out);
    assert_true(n.has_value());
    g_want = hex(rcvec::kRaRadvdDefault);
    expect_same_but_flow_label(*n);
}

// RFC 4191 §2.3: prefix bits past the prefix length are sent as zero.
void test_build_ra_masks_prefix(void**) {
    const std::array<RouteInfo, 2> routes = {
        RouteInfo{*Ipv6Addr::parse("fd00:e:1:2:3:ffff:ffff:ffff"), 81, RouterPreference::Low, 7},
        RouteInfo{*Ipv6Addr::parse("ffff:ffff::"), 0, RouterPreference::Medium, 9},
    };
    RaParams p = radvd_params();
    p.mtu = 0; // no MTU option
    p.routes = routes;
    auto n = build_router_advertisement(p, g_out);
    assert_true(n.has_value());
    assert_int_equal(*n, kIpv6HeaderLen + kNdRaLen + 2 * kNdOptRouteInfoLen);
    g_want = hex("1803 51 18 00000007 fd00000e000100020003800000000000"
                 "1803 00 00 00000009 00000000000000000000000000000000");
    assert_memory_equal(g_out.data() + kIpv6HeaderLen + kNdRaLen, g_want.data(), g_want.size());
    g_pkt.assign(g_out.begin(), g_out.begin() + static_cast<std::ptrdiff_t>(*n));
    assert_int_equal(static_cast<int>(nd_errc()), static_cast<int>(Errc::Ok));
}

void test_build_ra_errors(void**) {
    std::array<RouteInfo, 1> bad = {RouteInfo{Ipv6Addr{}, 129, RouterPreference::High, 1}};
    RaParams p = radvd_params();
    p.routes = bad;
    auto n = build_router_advertisement(p, g_out);
    assert_false(n.has_value());
    assert_int_equal(static_cast<int>(n.error().code), static_cast<int>(Errc::Malformed));
    p.routes = kRadvdRoutes;
    n = build_router_advertisement(p, MutBytes(g_out).first(kIpv6HeaderLen + kNdRaLen + 50));
    assert_false(n.has_value());
    assert_int_equal(static_cast<int>(n.error().code), static_cast<int>(Errc::NoSpace));
}

void test_build_na_matches_kernel(void**) {
    NaParams p{kRouterLinkLocal, kFe80A, kRouterLinkLocal,
               kNaFlagRouter | kNaFlagSolicited | kNaFlagOverride, kMacB};
    auto n = build_neighbor_advertisement(p, g_out);
    assert_true(n.has_value());
    g_want = hex(rcvec::kNaFromKernel);
    assert_int_equal(*n, g_want.size());
    assert_memory_equal(g_out.data(), g_want.data(), g_want.size());
}

void test_build_dad_na_matches_kernel(void**) {
    NaParams p{kRouterLinkLocal, kAllNodes, kRouterLinkLocal, kNaFlagRouter | kNaFlagOverride,
               kMacB};
    auto n = build_neighbor_advertisement(p, g_out);
    assert_true(n.has_value());
    g_want = hex(rcvec::kDadNaFromKernel);
    assert_int_equal(*n, g_want.size());
    assert_memory_equal(g_out.data(), g_want.data(), g_want.size());
}

// A TUN has no link-layer address: the NA then carries no option, and must
// still be a valid NA (the kernel's own bytes minus the option).
void test_build_na_without_lladdr(void**) {
    NaParams p{kRouterLinkLocal, kFe80A, kRouterLinkLocal,
               kNaFlagRouter | kNaFlagSolicited | kNaFlagOverride, std::nullopt};
    auto n = build_neighbor_advertisement(p, g_out);
    assert_true(n.has_value());
    g_want = hex(rcvec::kNaFromKernel);
    g_want.resize(kMsg + kNdNaLen);
    fixup::icmpv6(g_want);
    assert_int_equal(*n, g_want.size());
    assert_memory_equal(g_out.data(), g_want.data(), g_want.size());
    auto small = build_neighbor_advertisement(p, MutBytes(g_out).first(*n - 1));
    assert_false(small.has_value());
    assert_int_equal(static_cast<int>(small.error().code), static_cast<int>(Errc::NoSpace));
}

int teardown(void**) {
    Pkt().swap(g_pkt);
    Pkt().swap(g_want);
    return 0;
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid_messages),
        cmocka_unit_test(test_ns_fields),
        cmocka_unit_test(test_ra_fields_and_options),
        cmocka_unit_test(test_option_reader_on_bad_bytes),
        cmocka_unit_test(test_parse_nd_errors),
        cmocka_unit_test(test_solicited_node_multicast),
        cmocka_unit_test(test_build_ra_matches_radvd),
        cmocka_unit_test(test_build_ra_default_matches_radvd),
        cmocka_unit_test(test_build_ra_masks_prefix),
        cmocka_unit_test(test_build_ra_errors),
        cmocka_unit_test(test_build_na_matches_kernel),
        cmocka_unit_test(test_build_dad_na_matches_kernel),
        cmocka_unit_test(test_build_na_without_lladdr),
    };
    return cmocka_run_group_tests_name("ndp", tests, nullptr, teardown);
}
