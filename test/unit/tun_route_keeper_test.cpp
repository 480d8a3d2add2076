// Unit tests for netlink/TunRouteKeeper: which route messages it keeps, the
// request that puts a route back (read back as the same route), and its
// list through a TUN's down and up: a deletion while the link is up is an
// operator's and forgets the route, one while it is down is the kernel's
// flush and does not; the link's coming up again calls on_up_again and
// tries every listed route. No socket is opened (start() is not called), so
// the re-adds fail and are counted; netns.tun_down_up_test runs the real
// thing.
#include "test.hpp"

#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <optional>

#include "enftun/loop/loop.hpp"
#include "enftun/netlink/tun_route_keeper.hpp"

using enftun::Bytes;
using enftun::netlink::keepable_route;
using enftun::netlink::KeptRoute;
using enftun::netlink::put_route_request;
using enftun::netlink::TunRouteKeeper;

namespace {

constexpr unsigned kTun = 7;

alignas(nlmsghdr) std::array<std::uint8_t, 256> g_buf;

// fd00:e::/48 dev TUN table 2097 metric 1024 pref high, as enftun-setup adds.
KeptRoute prefix_route() {
    KeptRoute r;
    r.family = AF_INET6;
    r.dst_len = 48;
    r.protocol = RTPROT_BOOT;
    r.scope = RT_SCOPE_UNIVERSE;
    r.type = RTN_UNICAST;
    r.table = 2097;
    r.priority = 1024;
    r.has_priority = true;
    r.pref = 1; // ICMPV6_ROUTER_PREF_HIGH
    r.dst = {0xfd, 0x00, 0x00, 0x0e};
    return r;
}

// The route as a notification of `type` for interface `oif`.
Bytes message(const KeptRoute& r, std::uint16_t type, unsigned oif = kTun) {
    g_buf.fill(0);
    nlmsghdr* nlh = put_route_request(g_buf.data(), r, oif);
    nlh->nlmsg_type = type;
    return Bytes(g_buf.data(), nlh->nlmsg_len);
}

// An RTM_NEWLINK for interface `index` with IFF_UP set or not.
std::array<std::uint8_t, NLMSG_HDRLEN + sizeof(ifinfomsg)> g_link;
Bytes link_message(int index, bool up, std::uint16_t type = RTM_NEWLINK) {
    nlmsghdr hdr{};
    hdr.nlmsg_len = g_link.size();
    hdr.nlmsg_type = type;
    ifinfomsg ifi{};
    ifi.ifi_index = index;
    ifi.ifi_flags = up ? IFF_UP : 0;
    std::memcpy(g_link.data(), &hdr, sizeof hdr);
    std::memcpy(g_link.data() + NLMSG_HDRLEN, &ifi, sizeof ifi);
    return Bytes(g_link.data(), g_link.size());
}

void test_request_reads_back(void**) {
    const KeptRoute r = prefix_route();
    auto got = keepable_route(message(r, RTM_NEWROUTE), kTun);
    assert_true(got.has_value());
    assert_true(*got == r);
    // IPv4, table main, no metric, no preference.
    KeptRoute v4;
    v4.family = AF_INET;
    v4.dst_len = 24;
    v4.protocol = RTPROT_BOOT;
    v4.type = RTN_UNICAST;
    v4.table = RT_TABLE_MAIN;
    v4.dst = {198, 19, 0, 0};
    got = keepable_route(message(v4, RTM_DELROUTE), kTun);
    assert_true(got.has_value());
    assert_true(*got == v4);
    // The multicast route in table local (type multicast, metric 1).
    KeptRoute mc = prefix_route();
    mc.type = RTN_MULTICAST;
    mc.table = RT_TABLE_LOCAL;
    mc.dst_len = 8;
    mc.dst = {0xff};
    mc.priority = 1;
    got = keepable_route(message(mc, RTM_NEWROUTE), kTun);
    assert_true(got.has_value() && *got == mc);
}

void test_not_kept(void**) {
    KeptRoute r = prefix_route();
    assert_false(
        keepable_route(message(r, RTM_NEWROUTE, kTun + 1), kTun).has_value()); // another link
    for (std::uint8_t proto : {RTPROT_KERNEL, RTPROT_RA, RTPROT_REDIRECT}) {
        r = prefix_route();
        r.protocol = proto;
        assert_false(keepable_route(message(r, RTM_NEWROUTE), kTun).has_value());
    }
    r = prefix_route();
    r.type = RTN_LOCAL;
    assert_false(keepable_route(message(r, RTM_NEWROUTE), kTun).has_value());
    r = prefix_route();
    assert_false(keepable_route(message(r, RTM_GETROUTE), kTun).has_value()); // not a route event
    Bytes m = message(prefix_route(), RTM_NEWROUTE);
    assert_false(keepable_route(m.first(m.size() - 4), kTun).has_value()); // nlmsg_len disagrees
    assert_false(keepable_route(m.first(20), kTun).has_value()); // shorter than its headers
    // An attribute that runs past the message.
    g_buf[NLMSG_HDRLEN + sizeof(rtmsg)] = 0xff;
    assert_false(keepable_route(m, kTun).has_value());
}

struct Fixture {
    enftun::loop::Loop loop;
    int up_again = 0;
    std::optional<TunRouteKeeper> keeper;
};
Fixture* g_fx = nullptr;

int setup(void**) {
    g_fx = new Fixture;
    g_fx->keeper.emplace(g_fx->loop, kTun, [] { ++g_fx->up_again; });
    return 0;
}

int teardown(void**) {
    delete g_fx;
    g_fx = nullptr;
    return 0;
}

void test_down_and_up(void**) {
    auto& k = *g_fx->keeper;
    KeptRoute other = prefix_route();
    other.dst_len = 64;
    k.on_message(message(prefix_route(), RTM_NEWROUTE));
    k.on_message(message(prefix_route(), RTM_NEWROUTE)); // kept once
    k.on_message(message(other, RTM_NEWROUTE));
    assert_int_equal(k.kept(), 2);
    // Deleted while up: an operator's change, forgotten.
    k.on_message(message(other, RTM_DELROUTE));
    assert_int_equal(k.kept(), 1);
    // Another link going down and up changes nothing.
    k.on_message(link_message(kTun + 1, false));
    k.on_message(link_message(kTun + 1, true));
    assert_int_equal(g_fx->up_again, 0);
    // Down: the kernel's flush keeps the list.
    k.on_message(link_message(kTun, false));
    k.on_message(message(prefix_route(), RTM_DELROUTE));
    assert_int_equal(k.kept(), 1);
    assert_int_equal(g_fx->up_again, 0);
    // Up again: on_up_again, then every route tried (no socket here: failed).
    k.on_message(link_message(kTun, true));
    assert_int_equal(g_fx->up_again, 1);
    assert_int_equal(k.restore_failures(), 1);
    // Up while up (another flag changed): no second restore.
    k.on_message(link_message(kTun, true));
    assert_int_equal(g_fx->up_again, 1);
    // The device removed: nothing left to put back.
    k.on_message(link_message(kTun, false, RTM_DELLINK));
    assert_int_equal(k.kept(), 0);
}

void test_bounded(void**) {
    auto& k = *g_fx->keeper;
    KeptRoute r = prefix_route();
    for (unsigned i = 0; i < enftun::netlink::kMaxKeptRoutes + 10; ++i) {
        r.priority = i;
        k.on_message(message(r, RTM_NEWROUTE));
    }
    assert_int_equal(k.kept(), enftun::netlink::kMaxKeptRoutes);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_reads_back),
        cmocka_unit_test(test_not_kept),
        cmocka_unit_test_setup_teardown(test_down_and_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
    };
    return cmocka_run_group_tests_name("tun_route_keeper", tests, nullptr, nullptr);
}
