// Unit tests for netlink/route_monitor against the real kernel: the test
// process moves into a private network namespace (unshare(CLONE_NEWNET);
// skipped without CAP_SYS_ADMIN), changes routes there through
// netlink::LinkConfig and checks what the monitor reports:
//  - a burst of changes is coalesced into one callback that counts them all;
//  - the monitor keeps working for the next change;
//  - a receive queue overflow (a tiny SO_RCVBUF and a big burst) is
//    reported as `overrun` and the monitor recovers;
//  - stop() silences it;
//  - IPv4 address and route changes are reported too (LinkConfig speaks
//    IPv6 only, so those requests are built here with libmnl).
// A deadline timer guards every loop run against hangs; it is never a
// timing assertion.
#include "enftun/loop/loop.hpp"
#include "enftun/netlink/link_config.hpp"
#include "enftun/netlink/route_monitor.hpp"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "test.hpp"

using enftun::netlink::NetChanges;
using enftun::netlink::RouteMonitor;

namespace {

constexpr unsigned kLo = 1; // the loopback's ifindex in a fresh namespace

struct State {
    std::optional<enftun::loop::Loop> loop;
    std::optional<enftun::loop::Timer> deadline;
    std::optional<RouteMonitor> monitor;
    std::optional<enftun::netlink::LinkConfig> nl;
    std::vector<NetChanges> seen;
};
State* g = nullptr;
bool g_have_netns = false;

int group_setup(void**) {
    g_have_netns = unshare(CLONE_NEWNET) == 0;
    return 0;
}

int setup_with(RouteMonitor::Options opts) {
    g = new State();
    g->loop.emplace();
    g->deadline.emplace(*g->loop, [] { g->loop->stop(); });
    g->monitor.emplace(*g->loop, opts, [](const NetChanges& c) {
        g->seen.push_back(c);
        g->loop->stop();
    });
    if (!g_have_netns) {
        return 0;
    }
    auto nl = enftun::netlink::LinkConfig::create();
    if (!nl || !nl->set_mtu_up(kLo, 65536)) {
        return -1;
    }
    g->nl.emplace(std::move(*nl));
    return 0;
}

int setup(void**) {
    return setup_with({});
}

int setup_tiny_buffer(void**) {
    RouteMonitor::Options opts;
    opts.rcvbuf = 1; // the kernel rounds it up to its minimum (a few KiB)
    return setup_with(opts);
}

int teardown(void**) {
    delete g; // ~RouteMonitor/~Timer close their handles; ~Loop runs the callbacks
    g = nullptr;
    return 0;
}

void skip_without_netns() {
    if (!g_have_netns) {
        skip(); // needs CAP_SYS_ADMIN for a private network namespace
    }
}

// fd00:<n>::/64 via lo.
void add_route(unsigned n) {
    enftun::proto::Ipv6Addr prefix{};
    prefix.bytes[0] = 0xfd;
    prefix.bytes[2] = static_cast<std::uint8_t>(n >> 8);
    prefix.bytes[3] = static_cast<std::uint8_t>(n);
    assert_true(g->nl->add_route(kLo, prefix, 64).has_value());
}

// One IPv4 request (NLM_F_ACK) on a socket of its own; true when acked.
bool ipv4_request(nlmsghdr* nlh) {
    std::unique_ptr<mnl_socket, enftun::Free<mnl_socket_close>> sock(
        mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC));
    if (!sock || mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
        return false;
    }
    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
    nlh->nlmsg_seq = 1;
    if (mnl_socket_sendto(sock.get(), nlh, nlh->nlmsg_len) < 0) {
        return false;
    }
    char buf[8192];
    ssize_t n = mnl_socket_recvfrom(sock.get(), buf, sizeof buf);
    return n >= 0 && mnl_cb_run(buf, static_cast<size_t>(n), 1, mnl_socket_get_portid(sock.get()),
                                nullptr, nullptr) >= 0;
}

// 198.18.0.1/32 (RFC 2544 benchmarking space) on lo.
void add_ipv4_address() {
    char buf[512];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWADDR;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = 32;
    ifa->ifa_index = kLo;
    in_addr a{};
    assert_int_equal(inet_pton(AF_INET, "198.18.0.1", &a), 1);
    mnl_attr_put(nlh, IFA_LOCAL, sizeof a, &a);
    mnl_attr_put(nlh, IFA_ADDRESS, sizeof a, &a);
    assert_true(ipv4_request(nlh));
}

// 198.18.1.0/24 dev lo in the main table.
void add_ipv4_route() {
    char buf[512];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWROUTE;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = AF_INET;
    rtm->rtm_dst_len = 24;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_STATIC;
    rtm->rtm_scope = RT_SCOPE_LINK;
    rtm->rtm_type = RTN_UNICAST;
    in_addr a{};
    assert_int_equal(inet_pton(AF_INET, "198.18.1.0", &a), 1);
    mnl_attr_put(nlh, RTA_DST, sizeof a, &a);
    mnl_attr_put_u32(nlh, RTA_OIF, kLo);
    assert_true(ipv4_request(nlh));
}

// The sampled events of every batch seen so far, described.
std::vector<std::string> seen_descriptions() {
    std::vector<std::string> out;
    for (const auto& c : g->seen) {
        for (std::size_t i = 0; i < c.sampled; ++i) {
            if (c.sample[i].family == AF_INET) {
                out.push_back(enftun::netlink::describe(c.sample[i]));
            }
        }
    }
    return out;
}

bool seen_ipv4(const std::string& text) {
    for (const auto& d : seen_descriptions()) {
        if (d == text) {
            return true;
        }
    }
    return false;
}

// Runs the loop until the monitor reports (or the guard fires).
void run_until_reported() {
    g->deadline->start(10000);
    g->loop->run();
    g->deadline->stop();
}

// Drains what setting lo up produced, so each test starts from quiet.
void settle() {
    static unsigned settle_prefix = 0xff00; // a fresh route each time
    assert_true(g->monitor->start().has_value());
    add_route(settle_prefix++);
    run_until_reported();
    g->seen.clear();
}

void test_burst_coalesced_into_one_callback(void**) {
    skip_without_netns();
    settle();
    // All ten notifications are queued before the loop runs again, so they
    // fall into one window by construction.
    for (unsigned i = 1; i <= 10; ++i) {
        add_route(i);
    }
    run_until_reported();
    assert_int_equal(g->seen.size(), 1);
    const NetChanges& c = g->seen[0];
    assert_int_equal(c.routes, 10);
    assert_false(c.overrun);
    assert_int_equal(c.sampled, NetChanges::kSample);
    assert_false(c.complete()); // 10 events, 8 sampled
    assert_int_equal(c.sample[0].kind, enftun::netlink::NetEventKind::Route);
    assert_int_equal(c.sample[0].prefix_len, 64);
    assert_int_equal(c.sample[0].ifindex, kLo);
    assert_string_equal(enftun::netlink::describe(c.sample[0]).c_str(),
                        "route+ fd00:1::/64 dev 1 metric 1024 table 254");
    // The description shows the first eight, the count left out, and the last.
    const std::string text = enftun::netlink::describe(c);
    assert_true(text.find("fd00:8::/64") != std::string::npos);
    assert_true(text.find("fd00:9::/64") == std::string::npos);
    const std::string tail = ", +1 more, route+ fd00:a::/64 dev 1 metric 1024 table 254";
    assert_true(text.size() > tail.size());
    assert_string_equal(text.substr(text.size() - tail.size()).c_str(), tail.c_str());

    // The next change is a new batch, small enough to be complete.
    add_route(11);
    run_until_reported();
    assert_int_equal(g->seen.size(), 2);
    assert_int_equal(g->seen[1].routes, 1);
    assert_true(g->seen[1].complete());
    assert_int_equal(g->monitor->batches(), 3); // settle() + 2
}

void test_overrun_reported_and_recovered(void**) {
    skip_without_netns();
    settle();
    // Far more notifications than a minimal receive buffer holds.
    for (unsigned i = 100; i < 500; ++i) {
        add_route(i);
    }
    run_until_reported();
    assert_true(!g->seen.empty());
    bool overrun = false;
    for (const auto& c : g->seen) {
        overrun = overrun || c.overrun;
    }
    assert_true(overrun);
    assert_true(g->monitor->overruns() >= 1);
    // A lone change still gets through (after whatever was still queued:
    // netlink keeps order, so a few batches at most).
    g->seen.clear();
    add_route(1000);
    bool clean = false;
    for (int i = 0; i < 5 && !clean; ++i) {
        run_until_reported();
        clean = !g->seen.empty() && !g->seen.back().overrun && g->seen.back().routes >= 1;
    }
    assert_true(clean);
}

void test_stop_silences(void**) {
    skip_without_netns();
    settle();
    add_route(20);
    g->monitor->stop(); // a batch in its window is dropped too
    assert_false(g->monitor->running());
    add_route(21);
    g->deadline->start(500);
    g->loop->run();
    assert_true(g->seen.empty());
    // And it can start again.
    assert_true(g->monitor->start().has_value());
    add_route(22);
    run_until_reported();
    assert_int_equal(g->seen.size(), 1);
}

void test_ipv4_changes_reported(void**) {
    skip_without_netns();
    settle();
    // The address also makes the kernel add local routes (table 255): look
    // for the address among whatever the batches sampled.
    add_ipv4_address();
    for (int i = 0; i < 5 && !seen_ipv4("address+ 198.18.0.1/32 dev 1"); ++i) {
        run_until_reported();
    }
    assert_true(seen_ipv4("address+ 198.18.0.1/32 dev 1"));
    assert_true(g->seen[0].addresses >= 1);
    g->seen.clear();
    add_ipv4_route();
    run_until_reported();
    assert_int_equal(g->seen.size(), 1);
    assert_int_equal(g->seen[0].routes, 1);
    assert_true(g->seen[0].complete());
    assert_int_equal(g->seen[0].sample[0].family, AF_INET);
    assert_string_equal(enftun::netlink::describe(g->seen[0].sample[0]).c_str(),
                        "route+ 198.18.1.0/24 dev 1 metric 0 table 254");
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_burst_coalesced_into_one_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overrun_reported_and_recovered, setup_tiny_buffer,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stop_silences, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv4_changes_reported, setup, teardown),
    };
    return cmocka_run_group_tests_name("route_monitor", tests, group_setup, nullptr);
}
