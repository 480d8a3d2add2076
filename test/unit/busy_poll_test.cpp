// Unit tests for link/busy_poll: spinning starts on a one-packet event once
// the other side's last event moved one packet too (ping-pong), each packet
// restarts the window, spinning stops once a window passes without one or
// when a several-packet (bulk) event comes, a hit is a packet caught by a
// poll after an empty one (not the one that started it, nor one already
// waiting), spells start again however sparse the traffic, and a zero
// window never spins.
#include "enftun/link/busy_poll.hpp"

#include "test.hpp"

using enftun::tunnel::BusyPollPolicy;
using Side = BusyPollPolicy::Side;

namespace {

constexpr std::uint64_t kWindow = 200'000; // ns

// A policy that has seen one ping-pong exchange, and is asleep again.
BusyPollPolicy ping_ponging() {
    BusyPollPolicy p(kWindow);
    p.on_event(Side::Tun, 1); // the request: the link side has not moved yet
    return p;
}

void test_zero_window_never_spins(void**) {
    BusyPollPolicy p(0);
    assert_false(p.enabled());
    assert_false(p.on_event(Side::Tun, 1));
    assert_false(p.on_event(Side::Link, 1));
    assert_false(p.spinning());
    assert_false(p.on_iteration(1));
    assert_int_equal(p.spins(), 0);
    assert_int_equal(p.hits(), 0);
}

void test_ping_pong_starts_spinning_once(void**) {
    BusyPollPolicy p(kWindow);
    assert_true(p.enabled());
    assert_false(p.on_event(Side::Tun, 1)); // one side alone is no ping-pong yet
    assert_false(p.spinning());
    assert_true(p.on_event(Side::Link, 1)); // the reply: both sides single
    assert_true(p.spinning());
    assert_false(p.on_event(Side::Tun, 1)); // already spinning: nothing to start
    assert_int_equal(p.spins(), 1);
}

void test_empty_event_changes_nothing(void**) {
    BusyPollPolicy p = ping_ponging();
    assert_false(p.on_event(Side::Link, 0));
    assert_false(p.spinning());
    assert_true(p.on_event(Side::Link, 1));
}

void test_stops_after_a_quiet_window(void**) {
    BusyPollPolicy p = ping_ponging();
    p.on_event(Side::Link, 1);
    assert_true(p.on_iteration(1'000'000)); // the iteration after the waking poll
    assert_true(p.on_iteration(1'100'000));
    assert_true(p.on_iteration(1'000'000 + kWindow - 1));
    assert_false(p.on_iteration(1'000'000 + kWindow));
    assert_false(p.spinning());
    assert_int_equal(p.hits(), 0);           // the only packet woke the thread
    assert_false(p.on_iteration(2'000'000)); // stopped stays stopped
}

void test_packet_while_spinning_is_a_hit_and_restarts_window(void**) {
    BusyPollPolicy p = ping_ponging();
    p.on_event(Side::Link, 1);
    assert_true(p.on_iteration(1'000'000));
    assert_true(p.on_iteration(1'050'000)); // an empty poll: it would have slept
    p.on_event(Side::Tun, 1);               // caught by the next non-blocking poll
    assert_true(p.on_iteration(1'150'000));
    assert_int_equal(p.hits(), 1);
    // The window counts from the hit: still spinning past the first window.
    assert_true(p.on_iteration(1'000'000 + kWindow + 10'000));
    assert_false(p.on_iteration(1'150'000 + kWindow));
    assert_int_equal(p.hits(), 1);
}

// A packet that was already waiting when the spell started (the router's
// answer from its own TUN, read by the first poll) saved no sleep.
void test_packet_waiting_at_once_is_no_hit(void**) {
    BusyPollPolicy p = ping_ponging();
    p.on_event(Side::Link, 1);
    assert_true(p.on_iteration(1'000'000));
    p.on_event(Side::Tun, 1); // found by the very first poll
    assert_true(p.on_iteration(1'001'000));
    assert_int_equal(p.hits(), 0);
}

// A spell that ends with a hit: the next one-packet event after the
// thread slept starts a new spell at once, and its hits count too.
void test_next_spell_counts_again(void**) {
    BusyPollPolicy p = ping_ponging();
    p.on_event(Side::Link, 1);
    p.on_iteration(0);
    p.on_iteration(10'000);
    p.on_event(Side::Tun, 1);
    p.on_iteration(20'000); // a hit
    assert_false(p.on_iteration(20'000 + kWindow));
    assert_true(p.on_event(Side::Link, 1)); // after sleeping: start again
    assert_int_equal(p.spins(), 2);
    assert_true(p.on_iteration(5'000'000)); // this packet woke the thread: no hit
    assert_true(p.on_iteration(5'005'000));
    p.on_event(Side::Tun, 1);
    assert_true(p.on_iteration(5'010'000));
    assert_int_equal(p.hits(), 2);
}

// Sparse ping-pong: every one-packet exchange starts a spell again, even
// when the last one caught nothing (spinning is bounded by the window per
// packet, not backed off: see the header).
void test_spells_without_hits_still_start(void**) {
    BusyPollPolicy p = ping_ponging();
    std::uint64_t t = 0;
    for (int ping = 0; ping < 100; ++ping, t += 10'000'000) {
        assert_true(p.on_event(Side::Link, 1));
        assert_true(p.on_iteration(t));
        assert_false(p.on_iteration(t + kWindow));
    }
    assert_int_equal(p.spins(), 100);
    assert_int_equal(p.hits(), 0);
}

// Bulk: a several-packet event on either side stops a spin at the next
// iteration (it still counts as caught), and keeps that side from starting
// one until its events are single again.
void test_bulk_event_stops_the_spin(void**) {
    BusyPollPolicy p = ping_ponging();
    p.on_event(Side::Link, 1);
    assert_true(p.on_iteration(1'000'000));
    assert_true(p.on_iteration(1'005'000));
    p.on_event(Side::Link, 12); // a download's batch of frames
    assert_false(p.on_iteration(1'010'000));
    assert_false(p.spinning());
    assert_int_equal(p.hits(), 1);
    assert_false(p.on_event(Side::Tun, 1)); // its ACK: the link side is bulk
    assert_false(p.on_event(Side::Tun, 1));
    assert_int_equal(p.spins(), 1);
    assert_true(p.on_event(Side::Link, 1)); // single again: ping-pong
    assert_int_equal(p.spins(), 2);
}

void test_bulk_on_the_tun_side_never_spins(void**) {
    BusyPollPolicy p(kWindow);
    for (int i = 0; i < 10; ++i) { // an upload: TUN batches, ACKs one by one
        assert_false(p.on_event(Side::Tun, 8));
        assert_false(p.on_event(Side::Link, 1));
    }
    assert_false(p.spinning());
    assert_int_equal(p.spins(), 0);
}

// A several-packet event that lands in the same iteration as the one that
// started the spin still stops it.
void test_bulk_right_after_the_start_stops(void**) {
    BusyPollPolicy p = ping_ponging();
    assert_true(p.on_event(Side::Link, 1));
    p.on_event(Side::Tun, 3);
    assert_false(p.on_iteration(1'000'000));
    assert_false(p.spinning());
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_window_never_spins),
        cmocka_unit_test(test_ping_pong_starts_spinning_once),
        cmocka_unit_test(test_empty_event_changes_nothing),
        cmocka_unit_test(test_stops_after_a_quiet_window),
        cmocka_unit_test(test_packet_while_spinning_is_a_hit_and_restarts_window),
        cmocka_unit_test(test_packet_waiting_at_once_is_no_hit),
        cmocka_unit_test(test_next_spell_counts_again),
        cmocka_unit_test(test_spells_without_hits_still_start),
        cmocka_unit_test(test_bulk_event_stops_the_spin),
        cmocka_unit_test(test_bulk_on_the_tun_side_never_spins),
        cmocka_unit_test(test_bulk_right_after_the_start_stops),
    };
    return cmocka_run_group_tests_name("busy_poll", tests, nullptr, nullptr);
}
