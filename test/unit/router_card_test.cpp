// Unit tests for routercard/RouterCard and NdpResponder on a real libuv loop:
// the RA we derive from the configuration (checked against radvd's bytes),
// RS → RA through the schedule, NS → NA (checked against the kernel's),
// DHCPv6 dispatch, what is consumed and what is passed on, the drop
// counters for malformed input, and the final RA of stop().
#include "test.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "enftun/config/client_config.hpp"
#include "enftun/loop/loop.hpp"
#include "enftun/proto/ndp.hpp"
#include "enftun/routercard/router_card.hpp"
#include "enftun/routercard/server_duid.hpp"
#include "packet_fixups.hpp"
#include "packet_vectors.hpp"
#include "routercard_vectors.hpp"

using enftun::Bytes;
using enftun::load_be16;
using enftun::load_be32;
using enftun::store_be16;
using enftun::store_be32;
using namespace enftun::proto;
using namespace enftun::tunnel;

namespace {

using Pkt = std::vector<std::uint8_t>;

std::vector<Pkt> g_sent;
Pkt g_want;
std::array<std::uint8_t, 2048> g_out;
std::vector<RouteInfo> g_routes;

const LinkAddr kMacB = {0x02, 0, 0, 0, 0, 0x0b};
const Ipv6Addr kLease = *Ipv6Addr::parse("fd00:e::5");

NdpRoute route(const char* prefix, std::uint8_t len) {
    return {*Ipv6Addr::parse(prefix), len};
}

// Builds the RA make_ra_params describes into g_out; returns its length.
std::size_t build_ra(const NdpOptions& o) {
    auto n = build_router_advertisement(make_ra_params(o, g_routes), g_out);
    assert_true(n.has_value());
    return *n;
}

void expect_radvd(const char* radvd, std::size_t n) {
    g_want = hex(radvd);
    g_want[1] &= 0xf0; // radvd's socket had an auto flow label; ours is 0
    g_want[2] = g_want[3] = 0;
    assert_int_equal(n, g_want.size());
    assert_memory_equal(g_out.data(), g_want.data(), n);
}

// Default settings (ra_period 600 s, tun.mtu 1280) give radvd's RA for
// "3 × 600 s, preference high, managed, MTU 1280".
void test_ra_from_options_matches_radvd(void**) {
    NdpOptions o;
    o.routes = {route("fd00:e::", 64), route("fd00:f::", 64)};
    expect_radvd(rcvec::kRaRadvdRoutes, build_ra(o));
    o.routes = {route("::", 0), route("fd00:e::", 64), route("fd00:e:1:2:3::", 80)};
    o.default_router = true;
    o.lladdr = kMacB;
    expect_radvd(rcvec::kRaRadvdDefault, build_ra(o));
}

void test_ra_lifetimes(void**) {
    NdpOptions o;
    o.routes = {route("fd00:e::", 64)};
    o.default_router = true;
    o.ra_period_ms = 4000; // the shortest route.ra_period
    RaParams p = make_ra_params(o, g_routes);
    assert_int_equal(p.router_lifetime_s, 12);
    assert_int_equal(g_routes[0].lifetime_s, 12);
    o.ra_period_ms = 21845000; // the longest: 3 x 21845 s is the field's 65535 s
    p = make_ra_params(o, g_routes);
    assert_int_equal(p.router_lifetime_s, 65535);
    assert_int_equal(g_routes[0].lifetime_s, 65535);
    o.default_router = false;
    p = make_ra_params(o, g_routes);
    assert_int_equal(p.router_lifetime_s, 0);
    assert_int_equal(p.mtu, 1280);
    assert_true(p.flags & kRaFlagManaged);
    assert_true(p.preference == RouterPreference::High);
    assert_false(p.lladdr.has_value());
}

// More prefixes than fit in 1280 bytes: the RA keeps the first 50.
void test_ra_too_many_routes(void**) {
    NdpOptions o;
    o.lladdr = kMacB;
    for (int i = 0; i < 60; ++i) {
        Ipv6Addr a = *Ipv6Addr::parse("fd00::");
        a.bytes[2] = static_cast<std::uint8_t>(i);
        o.routes.push_back({a, 24});
    }
    const std::size_t n = build_ra(o);
    assert_int_equal(g_routes.size(), 50);
    assert_true(n <= kRaBufferLen);
    assert_true(parse_ipv6(Bytes(g_out.data(), n)).has_value());
}

void test_options_from_config(void**) {
    char dir[] = "/tmp/enftun-rc-test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    enftun::config::ClientConfig c;
    c.route.prefixes = {enftun::config::Prefix::default_route(),
                        enftun::config::Prefix{false, *Ipv6Addr::parse("fd00:e::"), 64, "x"}};
    c.tun.mtu = 1400;
    c.tun.lladdr = kMacB;
    c.route.ra_period = std::chrono::milliseconds(4000);
    c.identity.duid_file = std::string(dir) + "/duid";
    RouterCardOptions o = router_card_options(c, kLease);
    assert_int_equal(o.ndp.routes.size(), 2);
    assert_int_equal(o.ndp.routes[0].prefix_len, 0);
    assert_true(o.ndp.routes[0].prefix == Ipv6Addr{});
    assert_int_equal(o.ndp.routes[1].prefix_len, 64);
    assert_true(o.ndp.default_router);
    assert_int_equal(o.ndp.mtu, 1400);
    assert_true(o.ndp.lladdr == kMacB);
    assert_int_equal(o.ndp.ra_period_ms, 4000);
    assert_true(o.lease_addr == kLease);
    // The DUID was created and stored where the config says.
    assert_true(load_or_create_server_duid(c.identity.duid_file) == o.server_duid);
    unlink(c.identity.duid_file.c_str());
    rmdir(dir);
}

// route.prefixes' IPv4 entries (allow_ipv4) are for enftun-setup's routes:
// RFC 4191 route options are IPv6 only, so the RA names the IPv6 ones.
void test_options_skip_ipv4_prefixes(void**) {
    char dir[] = "/tmp/enftun-rc-test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    const std::string text =
        "remote = { hosts = [\"fd00:100::1\"]; ca_cert_file = \"ca\"; };\n"
        "identity = { cert_file = \"c\"; key_file = \"k\"; };\n"
        "route = { allow_ipv4 = true;\n"
        "  prefixes = [\"198.18.0.0/16\", \"fd00:e::/64\", \"10.1.2.3/32\"]; };\n";
    auto c = enftun::config::load_client_config_from_string(text, dir);
    assert_true(c.has_value());
    RouterCardOptions o = router_card_options(*c, kLease);
    assert_int_equal(o.ndp.routes.size(), 1);
    assert_true(o.ndp.routes[0].prefix == *Ipv6Addr::parse("fd00:e::"));
    assert_int_equal(o.ndp.routes[0].prefix_len, 64);
    assert_false(o.ndp.default_router);
    unlink(c->identity.duid_file.c_str());
    rmdir(dir);
}

// ------------------------------------------------------------ on a loop

struct Fixture {
    enftun::loop::Loop loop;
    // Stop the loop once this many packets were sent. SIZE_MAX outside a
    // run: uv_stop() before uv_run() would make the next run (the Loop
    // destructor's) return before the close callbacks.
    std::size_t stop_at = SIZE_MAX;
    std::unique_ptr<RouterCard> card;

    void make(NdpOptions ndp) {
        RouterCardOptions o{std::move(ndp), kLease, hex("0004966701e642fd4c6ea80b858beb91e03f")};
        card = std::make_unique<RouterCard>(loop, std::move(o), [this](Bytes p) {
            g_sent.emplace_back(p.begin(), p.end());
            if (g_sent.size() >= stop_at) {
                loop.stop();
            }
            return true;
        });
    }
};
std::unique_ptr<Fixture> g_fx;

int setup(void**) {
    g_fx = std::make_unique<Fixture>();
    NdpOptions o;
    o.routes = {route("fd00:e::", 64)};
    o.lladdr = kMacB;
    o.ra_min_gap_ms = 20; // RFC value is 3 s; keep the test short
    g_fx->make(o);
    g_sent.clear();
    return 0;
}

int teardown(void**) {
    g_fx.reset();
    return 0;
}

// Runs the loop until `n` packets were sent in all (a 5 s guard against
// hangs, not a timing assertion).
void run_until_sent(std::size_t n) {
    if (g_sent.size() >= n) {
        return;
    }
    g_fx->stop_at = n;
    {
        enftun::loop::Timer guard(g_fx->loop, [] { g_fx->loop.stop(); });
        guard.start(5000);
        g_fx->loop.run();
    }
    g_fx->stop_at = SIZE_MAX;
    assert_int_equal(g_sent.size(), n);
}

// Lets the loop run briefly so that anything already due goes out.
void settle(std::uint64_t ms) {
    enftun::loop::Timer t(g_fx->loop, [] { g_fx->loop.stop(); });
    t.start(ms);
    g_fx->loop.run();
}

bool consume(const char* pkt_hex) {
    const Pkt p = hex(pkt_hex);
    return g_fx->card->consume(p);
}

bool is_ra(const Pkt& p) {
    return p.size() > kIpv6HeaderLen && p[kIpv6HeaderLen] == kIcmpv6RouterAdvertisement;
}

void test_start_sends_ra(void**) {
    g_fx->card->start();
    run_until_sent(1);
    assert_true(is_ra(g_sent[0]));
    assert_int_equal(g_fx->card->ndp_stats().ra_sent, 1);
}

void test_rs_triggers_one_ra(void**) {
    g_fx->card->start();
    run_until_sent(1);
    for (int i = 0; i < 5; ++i) {
        assert_true(consume(vec::kRouterSolicitation));
    }
    run_until_sent(2);
    assert_true(is_ra(g_sent[1]));
    settle(100); // the burst of five must not give more RAs
    assert_int_equal(g_sent.size(), 2);
    assert_int_equal(g_fx->card->ndp_stats().rs_received, 5);
    assert_int_equal(g_fx->card->ndp_stats().ra_sent, 2);
}

// RFC 4861 §6.2.6: the RA answering an RS waits a random delay, drawn
// with bound ra_max_delay_ms (here the "random" number is always 300 ms).
// libuv timers never fire early, so nothing goes out in the first 150 ms.
void test_rs_answer_is_delayed(void**) {
    NdpOptions o;
    o.routes = {route("fd00:e::", 64)};
    o.ra_min_gap_ms = 20;
    std::uint64_t asked_bound = 0;
    o.random = [&asked_bound](std::uint64_t bound) {
        asked_bound = bound;
        return std::uint64_t{300};
    };
    g_fx->card.reset();
    g_fx->make(o);
    g_fx->card->start();
    run_until_sent(1); // the start RA: no delay
    settle(50);        // past the 20 ms gap
    assert_true(consume(vec::kRouterSolicitation));
    assert_int_equal(asked_bound, RaSchedule::kMaxDelayMs);
    settle(150);
    assert_int_equal(g_sent.size(), 1);
    run_until_sent(2);
    assert_true(is_ra(g_sent[1]));
}

void test_tunnel_up_triggers_ra(void**) {
    g_fx->card->start();
    run_until_sent(1);
    g_fx->card->on_tunnel_up();
    run_until_sent(2);
    assert_true(is_ra(g_sent[1]));
}

// After stop() and its one final RA, nothing more goes out.
void test_stopped_sends_nothing(void**) {
    g_fx->card->start();
    run_until_sent(1);
    g_fx->card->stop();
    assert_int_equal(g_sent.size(), 2);
    g_fx->card->stop();                             // a second stop sends no second final RA
    assert_true(consume(vec::kRouterSolicitation)); // still consumed
    settle(100);
    assert_int_equal(g_sent.size(), 2);
}

void test_stop_without_start_sends_nothing(void**) {
    g_fx->card->stop();
    settle(50);
    assert_int_equal(g_sent.size(), 0);
}

// The final RA (RFC 4861 §6.2.5): the last periodic RA with the router
// lifetime and every Route Information lifetime set to 0, nothing else
// changed; sent synchronously by stop().
void test_stop_sends_final_ra(void**) {
    NdpOptions o;
    o.routes = {route("::", 0), route("fd00:e::", 64)};
    o.default_router = true;
    o.lladdr = kMacB;
    o.ra_min_gap_ms = 20;
    g_fx->card.reset();
    g_fx->make(o);
    g_fx->card->start();
    run_until_sent(1);
    g_fx->card->stop();
    assert_int_equal(g_sent.size(), 2);
    assert_int_equal(g_fx->card->ndp_stats().ra_sent, 2);
    // The RA before: router lifetime 1800 s, route lifetimes 1800 s.
    constexpr std::size_t kRa = kIpv6HeaderLen;
    constexpr std::size_t kRio0 = kRa + kNdRaLen;
    constexpr std::size_t kRio1 = kRio0 + kNdOptRouteInfoLen;
    g_want = g_sent[0];
    assert_int_equal(load_be16(g_want, kRa + kNdRaRouterLifetimeOffset), 1800);
    assert_int_equal(g_want[kRio0], kNdOptRouteInfo);
    assert_int_equal(load_be32(g_want, kRio0 + 4), 1800);
    assert_int_equal(g_want[kRio1], kNdOptRouteInfo);
    assert_int_equal(load_be32(g_want, kRio1 + 4), 1800);
    store_be16(g_want, kRa + kNdRaRouterLifetimeOffset, 0);
    store_be32(g_want, kRio0 + 4, 0);
    store_be32(g_want, kRio1 + 4, 0);
    fixup::icmpv6(g_want);
    assert_int_equal(g_sent[1].size(), g_want.size());
    assert_memory_equal(g_sent[1].data(), g_want.data(), g_want.size());
    // And it is a valid RA a host takes (hop limit 255, from fe80::1).
    auto ip = parse_ipv6(g_sent[1]);
    assert_true(ip.has_value());
    auto icmp = parse_icmpv6(*ip);
    assert_true(icmp.has_value());
    auto nd = parse_nd(*ip, *icmp);
    assert_true(nd.has_value());
    assert_int_equal(nd->router_lifetime(), 0);
    assert_true(ip->dst() == kAllNodes);
}

// A reload's new route.ra_period: an RA with the lifetimes of the new
// period (3 x 4 s) goes out at once, with nothing else changed.
void test_ra_period_change_advertises_new_lifetimes(void**) {
    NdpOptions o;
    o.routes = {route("::", 0), route("fd00:e::", 64)};
    o.default_router = true;
    o.ra_min_gap_ms = 20;
    g_fx->card.reset();
    g_fx->make(o);
    g_fx->card->start();
    run_until_sent(1);
    constexpr std::size_t kRa = kIpv6HeaderLen;
    constexpr std::size_t kRio1 = kRa + kNdRaLen + kNdOptRouteInfoLen;
    assert_int_equal(load_be16(g_sent[0], kRa + kNdRaRouterLifetimeOffset), 1800);
    g_fx->card->set_ra_period(4000);
    run_until_sent(2);
    assert_true(is_ra(g_sent[1]));
    assert_int_equal(load_be16(g_sent[1], kRa + kNdRaRouterLifetimeOffset), 12);
    assert_int_equal(load_be32(g_sent[1], kRio1 + 4), 12);
    g_want = g_sent[0];
    store_be16(g_want, kRa + kNdRaRouterLifetimeOffset, 12);
    store_be32(g_want, kRa + kNdRaLen + 4, 12);
    store_be32(g_want, kRio1 + 4, 12);
    fixup::icmpv6(g_want);
    assert_int_equal(g_sent[1].size(), g_want.size());
    assert_memory_equal(g_sent[1].data(), g_want.data(), g_want.size());
}

void test_final_ra_params(void**) {
    NdpOptions o;
    o.routes = {route("fd00:e::", 64), route("fd00:f::", 48)};
    o.default_router = true;
    const RaParams ra = make_ra_params(o, g_routes);
    std::vector<RouteInfo> final_routes;
    const RaParams fin = make_final_ra_params(ra, final_routes);
    assert_int_equal(fin.router_lifetime_s, 0);
    assert_int_equal(fin.routes.size(), 2);
    for (std::size_t i = 0; i < fin.routes.size(); ++i) {
        assert_int_equal(fin.routes[i].lifetime_s, 0);
        assert_true(fin.routes[i].prefix == ra.routes[i].prefix);
        assert_int_equal(fin.routes[i].prefix_len, ra.routes[i].prefix_len);
        assert_true(fin.routes[i].preference == ra.routes[i].preference);
    }
    assert_int_equal(ra.router_lifetime_s, 1800); // the original is untouched
    assert_int_equal(ra.routes[0].lifetime_s, 1800);
    assert_int_equal(fin.mtu, ra.mtu);
    assert_int_equal(fin.flags, ra.flags);
}

// NS for fe80::1 is answered at once with the kernel's own NA bytes.
void test_ns_answered(void**) {
    assert_true(consume(rcvec::kNsForRouter));
    assert_true(consume(rcvec::kDadNs));
    assert_int_equal(g_sent.size(), 2);
    g_want = hex(rcvec::kNaFromKernel);
    assert_int_equal(g_sent[0].size(), g_want.size());
    assert_memory_equal(g_sent[0].data(), g_want.data(), g_want.size());
    g_want = hex(rcvec::kDadNaFromKernel);
    assert_int_equal(g_sent[1].size(), g_want.size());
    assert_memory_equal(g_sent[1].data(), g_want.data(), g_want.size());
    assert_int_equal(g_fx->card->ndp_stats().ns_answered, 2);
}

void test_dhcpv6_dispatched(void**) {
    assert_true(consume(rcvec::kDhcpcdSolicit));
    assert_int_equal(g_sent.size(), 1);
    g_want = hex(rcvec::kOurAdvertise);
    assert_int_equal(g_sent[0].size(), g_want.size());
    assert_memory_equal(g_sent[0].data(), g_want.data(), g_want.size());
    assert_int_equal(g_fx->card->dhcpv6_stats().answered, 1);
}

// A Solicit from UDP source port 0 (reserved: no client listens there) is
// consumed and counted as malformed, not answered to port 0.
void test_dhcpv6_from_port_zero_unanswered(void**) {
    Pkt solicit = hex(rcvec::kDhcpcdSolicit);
    solicit[kIpv6HeaderLen] = 0;
    solicit[kIpv6HeaderLen + 1] = 0;
    fixup::udp(solicit);
    assert_true(g_fx->card->consume(solicit));
    assert_int_equal(g_sent.size(), 0);
    assert_int_equal(g_fx->card->dhcpv6_stats().malformed, 1);
    assert_int_equal(g_fx->card->dhcpv6_stats().answered, 0);
}

// Everything else continues to the egress filter.
void test_others_pass(void**) {
    assert_false(consume(vec::kEchoOdd));
    assert_false(consume(vec::kUdpHello));
    assert_false(consume(vec::kIpv4Echo));
    assert_false(consume(rcvec::kMldv2Report));
    assert_false(consume("60"));             // not even an IPv6 header
    assert_false(consume("6000000000003a")); // truncated header
    settle(50);
    assert_int_equal(g_sent.size(), 0);
}

// The tunnel address as the source, which the egress filter lets through.
void from_self(Pkt& p) {
    std::copy(kLease.bytes.begin(), kLease.bytes.end(), p.begin() + kIpv6SrcOffset);
    fixup::icmpv6(p);
}

// `pkt` with the extension header `ext` (hex) between its IPv6 header and
// payload, announced by next header `nh`.
Pkt wrap(const Pkt& pkt, std::uint8_t nh, const char* ext) {
    const Pkt e = hex(ext);
    Pkt out(pkt.begin(), pkt.begin() + kIpv6HeaderLen);
    out.insert(out.end(), e.begin(), e.end());
    out.insert(out.end(), pkt.begin() + kIpv6HeaderLen, pkt.end());
    out[kIpv6NextHeaderOffset] = nh;
    fixup::payload_length(out);
    return out;
}

// ND messages we do not answer are consumed too, never handed on: the egress
// filter would pass one from the tunnel address to the router, and with its
// hop limit of 255 intact (nothing on the way lowers it) it would look
// on-link to a host behind another client.
void test_nd_never_forwarded(void**) {
    Pkt ns_other = hex(rcvec::kNsForRouter);
    ns_other[kIpv6HeaderLen + kNdTargetOffset + 15] = 0x09; // target fe80::9
    Pkt na = hex(rcvec::kNaFromKernel);
    Pkt ra = hex(rcvec::kRaRadvdRoutes);
    Pkt redirect = hex(rcvec::kNaFromKernel);
    redirect[kIpv6HeaderLen] = kIcmpv6Redirect;
    for (Pkt* p : {&ns_other, &na, &ra, &redirect}) {
        from_self(*p);
        assert_true(g_fx->card->consume(*p));
    }
    // ND behind a Hop-by-Hop header, or in a first fragment (RFC 6980).
    Pkt ns_hbh = wrap(ns_other, kProtoHopByHop, "3a 00 0104 00000000");
    Pkt ns_frag = wrap(ns_other, kProtoFragment, "3a 00 0001 12345678");
    assert_true(g_fx->card->consume(ns_hbh));
    assert_true(g_fx->card->consume(ns_frag));
    // A later fragment holds no header to judge: the egress filter's.
    Pkt later = wrap(ns_other, kProtoFragment, "3a 00 0008 12345678");
    assert_false(g_fx->card->consume(later));
    settle(50);
    assert_int_equal(g_sent.size(), 0);
    assert_int_equal(g_fx->card->ndp_stats().ignored, 6);
    assert_int_equal(g_fx->card->ndp_stats().ns_answered, 0);
    assert_int_equal(g_fx->card->ndp_stats().malformed, 0);
}

// Malformed RS/NS are consumed (never sent on), counted, never answered.
void test_malformed_dropped(void**) {
    Pkt rs_hop = hex(vec::kRouterSolicitation);
    rs_hop[kIpv6HopLimitOffset] = 64;
    fixup::icmpv6(rs_hop);
    Pkt rs_csum = hex(vec::kRouterSolicitation);
    rs_csum[kIpv6HeaderLen + 2] ^= 0x01;
    Pkt ns_len0 = hex(rcvec::kNsForRouter);
    ns_len0[kIpv6HeaderLen + 25] = 0;
    fixup::icmpv6(ns_len0);
    Pkt ns_cut = hex(rcvec::kNsForRouter);
    ns_cut.resize(kIpv6HeaderLen + 20);
    fixup::icmpv6(ns_cut);
    Pkt rs_tiny = hex(vec::kRouterSolicitation);
    rs_tiny.resize(kIpv6HeaderLen + 2); // shorter than an ICMPv6 header
    fixup::payload_length(rs_tiny);
    for (const Pkt* p : {&rs_hop, &rs_csum, &ns_len0, &ns_cut, &rs_tiny}) {
        assert_true(g_fx->card->consume(*p));
    }
    assert_int_equal(g_fx->card->ndp_stats().malformed, 5);
    assert_int_equal(g_fx->card->ndp_stats().rs_received, 0);
    g_fx->card->start();
    run_until_sent(1); // only the start RA
    settle(100);
    assert_int_equal(g_sent.size(), 1);
}

// A host flooding NS and DHCPv6 Solicits gets the ReplyBudget's burst of
// answers at once (the loop's clock stands still while nothing runs), then
// about kPerSecond a second; the rest are dropped and counted.
void test_replies_rate_limited(void**) {
    constexpr std::uint32_t kFlood = 1000;
    for (std::uint32_t i = 0; i < kFlood; ++i) {
        assert_true(consume(i % 2 == 0 ? rcvec::kNsForRouter : rcvec::kDhcpcdSolicit));
    }
    assert_int_equal(g_sent.size(), ReplyBudget::kBurst);
    const NdpStats& n = g_fx->card->ndp_stats();
    const Dhcpv6Stats& d = g_fx->card->dhcpv6_stats();
    assert_int_equal(n.ns_answered + d.answered, ReplyBudget::kBurst);
    assert_int_equal(n.rate_limited + d.rate_limited, kFlood - ReplyBudget::kBurst);
    // Half a second later (at least: timers never fire early) a few more.
    settle(500);
    const std::uint64_t before = g_sent.size();
    for (std::uint32_t i = 0; i < kFlood; ++i) {
        assert_true(consume(rcvec::kNsForRouter));
    }
    const std::uint64_t more = g_sent.size() - before;
    assert_true(more >= ReplyBudget::kPerSecond / 2 - 1);
    assert_true(more <= ReplyBudget::kBurst);
}

void test_reply_budget_refill(void**) {
    ReplyBudget b;
    for (std::uint32_t i = 0; i < ReplyBudget::kBurst; ++i) {
        assert_true(b.take(1000));
    }
    assert_false(b.take(1000));
    assert_false(b.take(1000 + 1000 / ReplyBudget::kPerSecond - 1)); // not a token yet
    assert_true(b.take(1000 + 1000 / ReplyBudget::kPerSecond));
    assert_false(b.take(1000 + 1000 / ReplyBudget::kPerSecond));
    // A long quiet spell refills to kBurst, not beyond.
    int n = 0;
    while (b.take(1000000) && n < 1000) {
        ++n;
    }
    assert_int_equal(n, ReplyBudget::kBurst);
}

int group_teardown(void**) {
    std::vector<Pkt>().swap(g_sent);
    Pkt().swap(g_want);
    std::vector<RouteInfo>().swap(g_routes);
    return 0;
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ra_from_options_matches_radvd),
        cmocka_unit_test(test_ra_lifetimes),
        cmocka_unit_test(test_ra_too_many_routes),
        cmocka_unit_test(test_options_from_config),
        cmocka_unit_test(test_options_skip_ipv4_prefixes),
        cmocka_unit_test_setup_teardown(test_start_sends_ra, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rs_triggers_one_ra, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rs_answer_is_delayed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tunnel_up_triggers_ra, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stopped_sends_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_without_start_sends_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_sends_final_ra, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ra_period_change_advertises_new_lifetimes, setup,
                                        teardown),
        cmocka_unit_test(test_final_ra_params),
        cmocka_unit_test_setup_teardown(test_ns_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dhcpv6_dispatched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_others_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nd_never_forwarded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replies_rate_limited, setup, teardown),
        cmocka_unit_test(test_reply_budget_refill),
        cmocka_unit_test_setup_teardown(test_malformed_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dhcpv6_from_port_zero_unanswered, setup, teardown),
    };
    return cmocka_run_group_tests_name("router_card", tests, nullptr, group_teardown);
}
