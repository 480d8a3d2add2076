// Unit tests for heartbeat/heartbeat: HeartbeatPolicy on a real loop timer.
// The probe is a valid ICMPv6 echo request from our address to fe80::1, an
// unanswered probe ends in on_dead, an answered one keeps the path alive,
// probe_now() probes at once (and only once), on_down() leaves nothing
// armed, and consume() takes exactly the router's replies to our probes.
//
// No timing assertions: replies are delivered synchronously from the send
// hook, and every wait runs the loop until a condition holds or it runs dry,
// under a 10 s watchdog that does not keep the loop alive.
#include "enftun/heartbeat/heartbeat.hpp"
#include "enftun/loop/loop.hpp"
#include "enftun/proto/icmpv6.hpp"
#include "enftun/proto/ipv6.hpp"
#include "enftun/proto/ipv6_addr.hpp"

#include <functional>
#include <optional>
#include <vector>

#include "loop_helpers.hpp"
#include "test.hpp"

using enftun::Bytes;
using enftun::heartbeat::Heartbeat;
using enftun::proto::Ipv6Addr;
using enftun::proto::kRouterLinkLocal;

namespace {

using ByteVec = std::vector<std::uint8_t>;

const Ipv6Addr kSelf = *Ipv6Addr::parse("fd00:1::5");

struct State {
    std::optional<enftun::loop::Loop> loop;
    std::optional<test_loop::Watchdog> watchdog;
    std::optional<Heartbeat> hb;
    std::vector<ByteVec> sent;
    int dead = 0;
    int answer = 0;             // probes still to answer at once (a live path)
    std::size_t stop_after = 0; // stop the loop after this many probes (0: never)
};
std::optional<State> g;

void make_heartbeat(std::uint64_t period_ms, std::uint64_t timeout_ms) {
    g->hb.emplace(
        *g->loop, period_ms, timeout_ms, kSelf,
        [](Bytes pkt) {
            g->sent.emplace_back(pkt.begin(), pkt.end());
            if (g->answer > 0) {
                --g->answer;
                g->hb->on_rx(); // the reply, as if it came back at once
            }
            if (g->stop_after != 0 && g->sent.size() == g->stop_after) {
                g->hb->on_down();
            }
        },
        [] { ++g->dead; });
}

// The echo reply the router would send to `probe`.
ByteVec reply_to(const ByteVec& probe, const Ipv6Addr& from) {
    auto ip = enftun::proto::parse_ipv6(probe);
    assert_true(ip.has_value());
    auto icmp = enftun::proto::parse_icmpv6(*ip);
    assert_true(icmp.has_value());
    ByteVec out(probe.size());
    auto n = enftun::proto::build_echo_reply(*icmp, *ip, from, out);
    assert_true(n.has_value());
    out.resize(*n);
    return out;
}

void assert_is_probe(const ByteVec& pkt, std::uint16_t seq) {
    auto ip = enftun::proto::parse_ipv6(pkt);
    assert_true(ip.has_value());
    assert_true(ip->src() == kSelf);
    assert_true(ip->dst() == kRouterLinkLocal);
    auto icmp = enftun::proto::parse_icmpv6(*ip); // checksum verified
    assert_true(icmp.has_value());
    assert_int_equal(icmp->type(), enftun::proto::kIcmpv6EchoRequest);
    assert_int_equal(icmp->echo_seq(), seq);
}

std::uint16_t id_of(const ByteVec& pkt) {
    auto ip = enftun::proto::parse_ipv6(pkt);
    assert_true(ip.has_value());
    auto icmp = enftun::proto::parse_icmpv6(*ip);
    assert_true(icmp.has_value());
    return icmp->echo_id();
}

void test_unanswered_probe_is_dead(void**) {
    make_heartbeat(5, 20);
    g->hb->on_up();
    g->watchdog->run_dry(); // Dead stops the timer, so the loop runs dry
    assert_int_equal(g->dead, 1);
    assert_int_equal(g->sent.size(), 1); // one probe, then the verdict
    assert_int_equal(g->hb->probes_sent(), 1);
    assert_is_probe(g->sent[0], 1);
}

void test_answered_probes_keep_alive(void**) {
    make_heartbeat(1, 20);
    g->answer = 1000;
    g->stop_after = 5; // on_down() after the fifth probe
    g->hb->on_up();
    g->watchdog->run_dry();
    assert_int_equal(g->dead, 0);
    assert_int_equal(g->sent.size(), 5);
    std::uint16_t id = id_of(g->sent[0]);
    for (std::size_t i = 0; i < g->sent.size(); ++i) {
        assert_is_probe(g->sent[i], static_cast<std::uint16_t>(i + 1));
        assert_int_equal(id_of(g->sent[i]), id); // one identifier per process
    }
}

void test_probe_now_sends_at_once(void**) {
    make_heartbeat(60000, 60000);
    g->hb->probe_now(); // not up: ignored
    assert_int_equal(g->sent.size(), 0);
    g->hb->on_up();
    g->hb->probe_now();
    assert_int_equal(g->sent.size(), 1); // synchronously, not on a timer
    assert_is_probe(g->sent[0], 1);
    g->hb->probe_now(); // one already out: no second probe
    assert_int_equal(g->sent.size(), 1);
    g->hb->on_down();
    g->watchdog->run_dry(); // nothing armed after on_down()
    assert_int_equal(g->dead, 0);
}

void test_down_disarms(void**) {
    make_heartbeat(1, 1);
    g->hb->on_up();
    g->hb->on_down();
    g->watchdog->run_dry();
    assert_int_equal(g->sent.size(), 0);
    assert_int_equal(g->dead, 0);
}

void test_down_inside_send_disarms(void**) {
    // The client's send hook flushes the link; a failed write takes the
    // link down, and the client calls on_down() from inside the hook. The
    // heartbeat must stay down: no re-armed timer, no later on_dead that
    // would tear down the next connection.
    make_heartbeat(1, 5);
    g->stop_after = 1;
    g->hb->on_up();
    g->watchdog->run_dry();
    assert_int_equal(g->sent.size(), 1);
    assert_int_equal(g->dead, 0);
}

void test_down_inside_probe_now_disarms(void**) {
    make_heartbeat(60000, 5);
    g->stop_after = 1;
    g->hb->on_up();
    g->hb->probe_now();
    g->watchdog->run_dry();
    assert_int_equal(g->sent.size(), 1);
    assert_int_equal(g->dead, 0);
}

void test_up_again_after_dead(void**) {
    make_heartbeat(1, 5);
    g->hb->on_up();
    g->watchdog->run_dry();
    assert_int_equal(g->dead, 1);
    g->hb->on_up(); // a new connection
    g->watchdog->run_dry();
    assert_int_equal(g->dead, 2);
    assert_int_equal(g->sent.size(), 2);
    assert_is_probe(g->sent[1], 2);
}

void test_consume_takes_only_our_replies(void**) {
    make_heartbeat(60000, 60000);
    g->hb->on_up();
    g->hb->probe_now();
    g->hb->on_down();
    assert_int_equal(g->sent.size(), 1);
    const ByteVec& probe = g->sent[0];
    assert_int_equal(g->hb->last_rtt_at_ms(), 0); // nothing measured yet
    assert_true(g->hb->consume(reply_to(probe, kRouterLinkLocal)));
    // The reply to the latest probe gave a round trip (under the watchdog's
    // bound: it came back at once).
    assert_true(g->hb->last_rtt_at_ms() != 0);
    assert_true(g->hb->last_rtt_us() < test_loop::kWatchdogMs * 1000);
    // Not from the router, or not a reply, or another process's probe.
    assert_false(g->hb->consume(reply_to(probe, *Ipv6Addr::parse("fd00::1"))));
    assert_false(g->hb->consume(probe));
    ByteVec other(48);
    auto n = enftun::proto::build_echo_request(
        kSelf, kRouterLinkLocal, static_cast<std::uint16_t>(id_of(probe) + 1), 1, Bytes{}, other);
    assert_true(n.has_value());
    assert_false(g->hb->consume(reply_to(other, kRouterLinkLocal)));
    // Garbage and a reply with a broken checksum.
    assert_false(g->hb->consume(Bytes{}));
    ByteVec bad = reply_to(probe, kRouterLinkLocal);
    bad.back() ^= 0xff;
    assert_false(g->hb->consume(bad));
    g->watchdog->run_dry();
}

int setup(void**) {
    g.emplace();
    g->loop.emplace();
    g->watchdog.emplace(*g->loop);
    return 0;
}

int teardown(void**) {
    g->hb.reset();
    g->watchdog.reset();
    g->loop.reset(); // asserts uv_loop_close() == 0
    g.reset();
    return 0;
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unanswered_probe_is_dead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answered_probes_keep_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_now_sends_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_down_disarms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_down_inside_send_disarms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_down_inside_probe_now_disarms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_up_again_after_dead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consume_takes_only_our_replies, setup, teardown),
    };
    return cmocka_run_group_tests_name("heartbeat", tests, nullptr, nullptr);
}
