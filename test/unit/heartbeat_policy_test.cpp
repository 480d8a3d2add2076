// Unit tests for heartbeat/heartbeat_policy: the Quiet → Probing → Dead
// state machine driven with explicit timestamps (no loop, no clock): no probe
// while frames arrive, a probe after `period` of silence, Dead after
// `timeout` more, recovery on any frame received after the probe (but not on
// one received before it), probes on request, the deadlines to arm, and one
// more look before Dead when the timer ran long after the timeout.
#include "enftun/heartbeat/heartbeat_policy.hpp"

#include <cstdint>
#include <optional>

#include "test.hpp"

using enftun::heartbeat::Action;
using enftun::heartbeat::HeartbeatPolicy;

namespace {

constexpr std::uint64_t kPeriod = 1000;
constexpr std::uint64_t kTimeout = 3000;
// Far from 0, like uv_now() on a running system.
constexpr std::uint64_t kT0 = 5'000'000;
// While probing, the timer looks again after one period (here shorter than
// the timeout), then at the timeout.
constexpr std::uint64_t kCheck = kPeriod < kTimeout ? kPeriod : kTimeout;

std::optional<HeartbeatPolicy> g_policy;

HeartbeatPolicy& up_at(std::uint64_t t) {
    g_policy.emplace(kPeriod, kTimeout);
    g_policy->on_up(t);
    return *g_policy;
}

void assert_action(Action got, Action want) {
    assert_int_equal(static_cast<int>(got), static_cast<int>(want));
}

void test_first_deadline_is_one_period_after_up(void**) {
    HeartbeatPolicy& p = up_at(kT0);
    assert_int_equal(p.next_deadline(), kT0 + kPeriod);
    assert_false(p.probing());
}

void test_quiet_while_frames_arrive(void**) {
    HeartbeatPolicy& p = up_at(kT0);
    std::uint64_t t = kT0;
    for (int i = 0; i < 50; ++i) {
        t += kPeriod - 1; // each frame lands just inside the period
        p.on_rx(t);
        assert_action(p.on_timer(p.next_deadline()), Action::None);
        // Rescheduled one period after the latest frame.
        assert_int_equal(p.next_deadline(), t + kPeriod);
        assert_false(p.probing());
    }
}

void test_early_timer_does_not_probe(void**) {
    HeartbeatPolicy& p = up_at(kT0);
    assert_action(p.on_timer(kT0 + kPeriod - 1), Action::None);
    assert_int_equal(p.next_deadline(), kT0 + kPeriod);
}

void test_rx_stamped_after_timer_now_is_fresh(void**) {
    // A frame stamped by a later clock reading than the timer's must not
    // look ancient (unsigned now - last_rx would wrap around).
    HeartbeatPolicy& p = up_at(kT0);
    p.on_rx(kT0 + kPeriod + 50);
    assert_action(p.on_timer(kT0 + kPeriod), Action::None);
    assert_int_equal(p.next_deadline(), kT0 + 2 * kPeriod + 50);
}

void test_probe_after_period_without_rx(void**) {
    HeartbeatPolicy& p = up_at(kT0);
    assert_action(p.on_timer(kT0 + kPeriod), Action::SendProbe);
    assert_true(p.probing());
    assert_int_equal(p.next_deadline(), kT0 + kPeriod + kCheck);
    // Unanswered at that check: wait on for the timeout.
    assert_action(p.on_timer(kT0 + kPeriod + kCheck), Action::None);
    assert_true(p.probing());
    assert_int_equal(p.next_deadline(), kT0 + kPeriod + kTimeout);
}

void test_answered_probe_keeps_period_shorter_than_timeout(void**) {
    // period < timeout: the next probe comes one period after the answer,
    // not one timeout after the probe.
    HeartbeatPolicy& p = up_at(kT0);
    const std::uint64_t probe = kT0 + kPeriod;
    assert_action(p.on_timer(probe), Action::SendProbe);
    p.on_rx(probe + 5);
    assert_int_equal(p.next_deadline(), probe + kPeriod);
    assert_action(p.on_timer(p.next_deadline()), Action::None);
    assert_false(p.probing());
    assert_int_equal(p.next_deadline(), probe + 5 + kPeriod);
    assert_action(p.on_timer(probe + 5 + kPeriod), Action::SendProbe);
}

void test_dead_after_timeout_once_probing(void**) {
    HeartbeatPolicy& p = up_at(kT0);
    const std::uint64_t probe = kT0 + kPeriod;
    assert_action(p.on_timer(probe), Action::SendProbe);
    // An early wake-up inside the timeout keeps waiting, same deadline.
    assert_action(p.on_timer(probe + kTimeout - 1), Action::None);
    assert_int_equal(p.next_deadline(), probe + kTimeout);
    assert_action(p.on_timer(probe + kTimeout), Action::Dead);
    // Dead is final until the next on_up(); a late frame does not revive it.
    p.on_rx(probe + kTimeout + 1);
    assert_action(p.on_timer(probe + kTimeout + 2), Action::Dead);
}

void test_any_frame_after_probe_recovers(void**) {
    HeartbeatPolicy& p = up_at(kT0);
    const std::uint64_t probe = kT0 + kPeriod;
    assert_action(p.on_timer(probe), Action::SendProbe);
    p.on_rx(probe + 10); // not necessarily the echo reply
    assert_action(p.on_timer(probe + kTimeout), Action::None);
    assert_false(p.probing());
    assert_int_equal(p.next_deadline(), probe + 10 + kPeriod);
}

void test_frame_same_ms_after_probe_recovers(void**) {
    HeartbeatPolicy& p = up_at(kT0);
    const std::uint64_t probe = kT0 + kPeriod;
    assert_action(p.on_timer(probe), Action::SendProbe);
    p.on_rx(probe); // same millisecond, but after the probe went out
    assert_action(p.on_timer(probe + kTimeout), Action::None);
    assert_false(p.probing());
}

void test_frame_same_ms_before_probe_does_not_count(void**) {
    HeartbeatPolicy& p = up_at(kT0);
    const std::uint64_t t = kT0 + 400;
    // A frame, then a probe request in the same millisecond: the frame came
    // before the probe, so it proves nothing about the probe's path.
    p.on_rx(t);
    assert_int_equal(p.on_probe_requested(t), t);
    assert_action(p.on_timer(t), Action::SendProbe);
    assert_action(p.on_timer(t + kTimeout), Action::Dead);
}

void test_recovers_then_probes_again(void**) {
    HeartbeatPolicy& p = up_at(kT0);
    std::uint64_t probe = kT0 + kPeriod;
    assert_action(p.on_timer(probe), Action::SendProbe);
    p.on_rx(probe + 5);
    assert_action(p.on_timer(probe + 5), Action::None);
    // Silence again: a second probe one period after that frame, then Dead.
    std::uint64_t second = probe + 5 + kPeriod;
    assert_int_equal(p.next_deadline(), second);
    assert_action(p.on_timer(second), Action::SendProbe);
    assert_action(p.on_timer(second + kTimeout), Action::Dead);
}

void test_probe_requested_sends_at_once(void**) {
    HeartbeatPolicy& p = up_at(kT0);
    p.on_rx(kT0 + 100); // the path looked fine
    const std::uint64_t t = kT0 + 200;
    assert_int_equal(p.on_probe_requested(t), t);
    assert_action(p.on_timer(t), Action::SendProbe);
    assert_int_equal(p.next_deadline(), t + kCheck);
}

void test_probe_requested_early_in_clock(void**) {
    // A clock younger than one period (a loop started just after boot).
    HeartbeatPolicy& p = up_at(0);
    assert_int_equal(p.on_probe_requested(500), 500);
    assert_action(p.on_timer(500), Action::SendProbe);
    assert_int_equal(p.next_deadline(), 500 + kCheck);
}

void test_probe_requested_while_probing_keeps_deadline(void**) {
    HeartbeatPolicy& p = up_at(kT0);
    const std::uint64_t probe = kT0 + kPeriod;
    assert_action(p.on_timer(probe), Action::SendProbe);
    assert_int_equal(p.on_probe_requested(probe + 100), probe + kCheck);
    assert_action(p.on_timer(probe + 100), Action::None);
    assert_action(p.on_timer(probe + kTimeout), Action::Dead);
}

void test_probe_requested_after_answered_probe_sends_again(void**) {
    HeartbeatPolicy& p = up_at(kT0);
    const std::uint64_t probe = kT0 + kPeriod;
    assert_action(p.on_timer(probe), Action::SendProbe);
    p.on_rx(probe + 5); // answered; the timer has not run since
    // A route change now: the answer came over the old path, so probe again.
    const std::uint64_t t = probe + 100;
    assert_int_equal(p.on_probe_requested(t), t);
    assert_action(p.on_timer(t), Action::SendProbe);
    assert_int_equal(p.next_deadline(), t + kCheck);
    assert_action(p.on_timer(t + kTimeout), Action::Dead);
}

// A timer that runs long after the timeout (the process was stopped): one
// more look after a grace, in which the loop reads what arrived meanwhile.
void test_late_timer_looks_again_before_dead(void**) {
    HeartbeatPolicy& p = up_at(kT0);
    const std::uint64_t probe = kT0 + kPeriod;
    assert_action(p.on_timer(probe), Action::SendProbe);
    const std::uint64_t late = probe + kTimeout + HeartbeatPolicy::kLateMs + 5000;
    assert_action(p.on_timer(late), Action::None);
    assert_int_equal(p.next_deadline(), late + HeartbeatPolicy::kGraceMs);
    assert_true(p.probing());
    // Nothing arrived: dead at the grace's end, however late that runs.
    assert_action(p.on_timer(late + HeartbeatPolicy::kGraceMs + 5000), Action::Dead);
}

void test_late_timer_then_answer_recovers(void**) {
    HeartbeatPolicy& p = up_at(kT0);
    const std::uint64_t probe = kT0 + kPeriod;
    assert_action(p.on_timer(probe), Action::SendProbe);
    const std::uint64_t late = probe + kTimeout + HeartbeatPolicy::kLateMs + 1;
    assert_action(p.on_timer(late), Action::None);
    p.on_rx(late + 1); // the answer, read in the poll after the timers
    assert_action(p.on_timer(p.next_deadline()), Action::None);
    assert_false(p.probing());
    // The next probe gets its own grace.
    const std::uint64_t second = p.next_deadline();
    assert_int_equal(second, late + 1 + kPeriod);
    assert_action(p.on_timer(second), Action::SendProbe);
    assert_action(p.on_timer(second + kTimeout + HeartbeatPolicy::kLateMs + 1), Action::None);
    assert_action(p.on_timer(p.next_deadline()), Action::Dead);
}

// On time (or less than kLateMs late), the timeout is judged at once.
void test_timer_just_past_timeout_is_dead(void**) {
    HeartbeatPolicy& p = up_at(kT0);
    const std::uint64_t probe = kT0 + kPeriod;
    assert_action(p.on_timer(probe), Action::SendProbe);
    assert_action(p.on_timer(probe + kTimeout + HeartbeatPolicy::kLateMs), Action::Dead);
}

void test_up_again_after_dead(void**) {
    HeartbeatPolicy& p = up_at(kT0);
    assert_action(p.on_timer(kT0 + kPeriod), Action::SendProbe);
    assert_action(p.on_timer(kT0 + kPeriod + kTimeout), Action::Dead);
    const std::uint64_t t1 = kT0 + 10 * kPeriod;
    p.on_up(t1);
    assert_false(p.probing());
    assert_int_equal(p.next_deadline(), t1 + kPeriod);
    assert_action(p.on_timer(t1 + kPeriod - 1), Action::None);
    assert_action(p.on_timer(t1 + kPeriod), Action::SendProbe);
}

void test_up_clears_pending_request(void**) {
    HeartbeatPolicy& p = up_at(kT0);
    (void)p.on_probe_requested(kT0 + 1);
    p.on_up(kT0 + 2); // a new connection: the old request is moot
    assert_action(p.on_timer(kT0 + 3), Action::None);
    assert_int_equal(p.next_deadline(), kT0 + 2 + kPeriod);
}

// A reload's new timing: a quiet path's probe moves to one new period after
// the last frame (shorter or longer); the new timeout counts for the next probe.
void test_set_timing_moves_quiet_deadline(void**) {
    HeartbeatPolicy& p = up_at(kT0);
    p.on_rx(kT0 + 100);
    p.set_timing(200, 500);
    assert_int_equal(p.next_deadline(), kT0 + 300);
    assert_action(p.on_timer(kT0 + 300), Action::SendProbe);
    assert_action(p.on_timer(kT0 + 500), Action::None); // min(period, timeout) check
    assert_action(p.on_timer(kT0 + 800), Action::Dead); // the new timeout, not 3000
    HeartbeatPolicy& q = up_at(kT0);
    q.set_timing(5000, kTimeout);
    assert_int_equal(q.next_deadline(), kT0 + 5000);
    assert_action(q.on_timer(kT0 + kPeriod), Action::None);
}

// A probe already out keeps its deadline.
void test_set_timing_while_probing_keeps_deadline(void**) {
    HeartbeatPolicy& p = up_at(kT0);
    assert_action(p.on_timer(kT0 + kPeriod), Action::SendProbe);
    const std::uint64_t deadline = p.next_deadline();
    p.set_timing(200, 500);
    assert_int_equal(p.next_deadline(), deadline);
    assert_true(p.probing());
}

int teardown(void**) {
    g_policy.reset();
    return 0;
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_first_deadline_is_one_period_after_up, teardown),
        cmocka_unit_test_teardown(test_quiet_while_frames_arrive, teardown),
        cmocka_unit_test_teardown(test_early_timer_does_not_probe, teardown),
        cmocka_unit_test_teardown(test_rx_stamped_after_timer_now_is_fresh, teardown),
        cmocka_unit_test_teardown(test_probe_after_period_without_rx, teardown),
        cmocka_unit_test_teardown(test_dead_after_timeout_once_probing, teardown),
        cmocka_unit_test_teardown(test_answered_probe_keeps_period_shorter_than_timeout, teardown),
        cmocka_unit_test_teardown(test_any_frame_after_probe_recovers, teardown),
        cmocka_unit_test_teardown(test_frame_same_ms_after_probe_recovers, teardown),
        cmocka_unit_test_teardown(test_frame_same_ms_before_probe_does_not_count, teardown),
        cmocka_unit_test_teardown(test_recovers_then_probes_again, teardown),
        cmocka_unit_test_teardown(test_probe_requested_sends_at_once, teardown),
        cmocka_unit_test_teardown(test_probe_requested_early_in_clock, teardown),
        cmocka_unit_test_teardown(test_probe_requested_while_probing_keeps_deadline, teardown),
        cmocka_unit_test_teardown(test_probe_requested_after_answered_probe_sends_again, teardown),
        cmocka_unit_test_teardown(test_late_timer_looks_again_before_dead, teardown),
        cmocka_unit_test_teardown(test_late_timer_then_answer_recovers, teardown),
        cmocka_unit_test_teardown(test_timer_just_past_timeout_is_dead, teardown),
        cmocka_unit_test_teardown(test_up_again_after_dead, teardown),
        cmocka_unit_test_teardown(test_up_clears_pending_request, teardown),
        cmocka_unit_test_teardown(test_set_timing_moves_quiet_deadline, teardown),
        cmocka_unit_test_teardown(test_set_timing_while_probing_keeps_deadline, teardown),
    };
    return cmocka_run_group_tests_name("heartbeat_policy", tests, nullptr, nullptr);
}
