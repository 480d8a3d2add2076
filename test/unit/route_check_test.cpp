// Unit tests for conn/route_check: address comparison, the route-change
// decision table, the retry pacer, and the probe against the real kernel in
// a private network namespace (unshare(CLONE_NEWNET); those tests skip
// without CAP_SYS_ADMIN): no route → error, loopback → its own address,
// with and without SO_MARK.
#include "enftun/conn/route_check.hpp"
#include "enftun/netlink/link_config.hpp"

#include <arpa/inet.h>
#include <sched.h>

#include <cerrno>
#include <cstring>

#include "test.hpp"

using enftun::Result;
using enftun::conn::decide_route_change;
using enftun::conn::RetryPacer;
using enftun::conn::RouteDecision;
using enftun::conn::same_address;

namespace {

sockaddr_storage v6(const char* addr, std::uint16_t port = 0, std::uint32_t scope = 0) {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    sin6.sin6_scope_id = scope;
    inet_pton(AF_INET6, addr, &sin6.sin6_addr);
    sockaddr_storage ss{};
    std::memcpy(&ss, &sin6, sizeof sin6);
    return ss;
}

sockaddr_storage v4(const char* addr, std::uint16_t port = 0) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    inet_pton(AF_INET, addr, &sin.sin_addr);
    sockaddr_storage ss{};
    std::memcpy(&ss, &sin, sizeof sin);
    return ss;
}

void test_same_address(void**) {
    assert_true(same_address(v6("fd00:100::2", 4443), v6("fd00:100::2", 51000)));
    assert_false(same_address(v6("fd00:100::2"), v6("fd00:101::2")));
    assert_false(same_address(v6("fe80::1", 0, 2), v6("fe80::1", 0, 3)));
    assert_true(same_address(v4("198.18.0.2", 1), v4("198.18.0.2", 2)));
    assert_false(same_address(v4("198.18.0.2"), v4("198.18.0.3")));
    // The IPv4-mapped form is another family: a different path.
    assert_false(same_address(v4("198.18.0.2"), v6("::ffff:198.18.0.2")));
    sockaddr_storage unspec{};
    assert_false(same_address(unspec, unspec));
}

void test_decision_table(void**) {
    const sockaddr_storage tunnel = v6("fd00:100::2", 40000);
    struct Case {
        Result<sockaddr_storage> probe;
        RouteDecision want;
    } cases[] = {
        {v6("fd00:100::2"), RouteDecision::KeepAndProbe}, // same path
        {v6("fd00:101::2"), RouteDecision::Reconnect},    // a better uplink
        {v4("198.18.0.2"), RouteDecision::Reconnect},     // other family
        {enftun::make_error(enftun::Errc::System, "no route", ENETUNREACH),
         RouteDecision::Reconnect}, // our path is gone
    };
    for (const auto& c : cases) {
        assert_int_equal(decide_route_change(c.probe, tunnel), c.want);
    }
}

void test_pacer(void**) {
    RetryPacer p(1000);
    assert_int_equal(p.delay(5000), 0); // the first retry runs at once
    p.on_retry(5000);
    assert_int_equal(p.delay(5000), 1000);
    assert_int_equal(p.delay(5400), 600);
    assert_int_equal(p.delay(6000), 0);
    p.on_retry(6500); // scheduled for later than now
    assert_int_equal(p.delay(6000), 1500);
    assert_int_equal(p.delay(9000), 0);
}

void test_format_address(void**) {
    assert_string_equal(enftun::conn::format_address(v6("fd00:100::2", 443)).c_str(),
                        "fd00:100::2");
    assert_string_equal(enftun::conn::format_address(v4("198.18.0.1", 443)).c_str(), "198.18.0.1");
}

// ----------------------------------------------- probe, in a private netns

bool g_have_netns = false;

void test_probe_without_route_fails(void**) {
    if (!g_have_netns) {
        skip();
    }
    // A fresh namespace: lo is down, no address, no route.
    auto r = enftun::conn::probe_preferred_source(v6("fd00:200::1", 4443), 0);
    assert_false(r.has_value());
    assert_int_equal(r.error().code, enftun::Errc::System);
    // EADDRNOTAVAIL: the lookup found no source address to use.
    assert_true(r.error().sys == ENETUNREACH || r.error().sys == EHOSTUNREACH ||
                r.error().sys == EADDRNOTAVAIL);
    assert_int_equal(decide_route_change(r, v6("fd00:100::2")), RouteDecision::Reconnect);
}

void test_probe_loopback(void**) {
    if (!g_have_netns) {
        skip();
    }
    auto nl = enftun::netlink::LinkConfig::create();
    assert_true(nl.has_value());
    assert_true(nl->set_mtu_up(1, 65536).has_value()); // lo
    for (std::uint32_t mark : {0u, 363u}) {
        auto r6 = enftun::conn::probe_preferred_source(v6("::1", 4443), mark);
        assert_true(r6.has_value());
        assert_true(same_address(*r6, v6("::1")));
        auto r4 = enftun::conn::probe_preferred_source(v4("127.0.0.1", 4443), mark);
        assert_true(r4.has_value());
        assert_true(same_address(*r4, v4("127.0.0.1")));
    }
}

void test_probe_unknown_family(void**) {
    sockaddr_storage unspec{};
    auto r = enftun::conn::probe_preferred_source(unspec, 0);
    assert_false(r.has_value());
    assert_int_equal(r.error().sys, EAFNOSUPPORT);
}

void test_socket_address_errors(void**) {
    assert_false(enftun::conn::socket_local_address(-1).has_value());
    assert_false(enftun::conn::socket_peer_address(-1).has_value());
}

int group_setup(void**) {
    g_have_netns = unshare(CLONE_NEWNET) == 0;
    return 0;
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_address),
        cmocka_unit_test(test_decision_table),
        cmocka_unit_test(test_pacer),
        cmocka_unit_test(test_format_address),
        cmocka_unit_test(test_probe_without_route_fails),
        cmocka_unit_test(test_probe_loopback),
        cmocka_unit_test(test_probe_unknown_family),
        cmocka_unit_test(test_socket_address_errors),
    };
    return cmocka_run_group_tests_name("route_check", tests, group_setup, nullptr);
}
