// Unit tests for tunnel/busy_poll: spinning starts on a packet, each packet
// restarts the window, spinning stops once a window passes without one, a
// hit is a packet caught while spinning (not the one that started it), and
// a zero window never spins.
#include "enftun/tunnel/busy_poll.hpp"

#include "test.hpp"

using enftun::tunnel::BusyPollPolicy;

namespace {

constexpr std::uint64_t kWindow = 200'000; // ns

void test_zero_window_never_spins(void**) {
    BusyPollPolicy p(0);
    assert_false(p.enabled());
    assert_false(p.on_packet());
    assert_false(p.spinning());
    assert_false(p.on_iteration(1));
    assert_int_equal(p.spins(), 0);
    assert_int_equal(p.hits(), 0);
}

void test_packet_starts_spinning_once(void**) {
    BusyPollPolicy p(kWindow);
    assert_true(p.enabled());
    assert_true(p.on_packet());
    assert_true(p.spinning());
    assert_false(p.on_packet()); // already spinning: nothing to start
    assert_int_equal(p.spins(), 1);
}

void test_stops_after_a_quiet_window(void**) {
    BusyPollPolicy p(kWindow);
    p.on_packet();
    assert_true(p.on_iteration(1'000'000)); // the iteration after the waking poll
    assert_true(p.on_iteration(1'100'000));
    assert_true(p.on_iteration(1'000'000 + kWindow - 1));
    assert_false(p.on_iteration(1'000'000 + kWindow));
    assert_false(p.spinning());
    assert_int_equal(p.hits(), 0);           // the only packet woke the thread
    assert_false(p.on_iteration(2'000'000)); // stopped stays stopped
}

void test_packet_while_spinning_is_a_hit_and_restarts_window(void**) {
    BusyPollPolicy p(kWindow);
    p.on_packet();
    assert_true(p.on_iteration(1'000'000));
    p.on_packet(); // caught by the non-blocking poll
    assert_true(p.on_iteration(1'150'000));
    assert_int_equal(p.hits(), 1);
    // The window counts from the hit: still spinning past the first window.
    assert_true(p.on_iteration(1'000'000 + kWindow + 10'000));
    assert_false(p.on_iteration(1'150'000 + kWindow));
    assert_int_equal(p.hits(), 1);
}

void test_next_spell_counts_again(void**) {
    BusyPollPolicy p(kWindow);
    p.on_packet();
    p.on_iteration(0);
    assert_false(p.on_iteration(kWindow));
    assert_true(p.on_packet()); // after sleeping: start again
    assert_int_equal(p.spins(), 2);
    assert_true(p.on_iteration(5'000'000)); // this packet woke the thread: no hit
    p.on_packet();
    assert_true(p.on_iteration(5'010'000));
    assert_int_equal(p.hits(), 1);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zero_window_never_spins),
        cmocka_unit_test(test_packet_starts_spinning_once),
        cmocka_unit_test(test_stops_after_a_quiet_window),
        cmocka_unit_test(test_packet_while_spinning_is_a_hit_and_restarts_window),
        cmocka_unit_test(test_next_spell_counts_again),
    };
    return cmocka_run_group_tests_name("busy_poll", tests, nullptr, nullptr);
}
