// Unit tests for routercard/RaSchedule: the RA triggers (RS, tunnel up,
// start), the periodic RA, the RFC 4861 minimum gap, the random delay of
// solicited RAs, and idempotence.
#include "test.hpp"

#include "enftun/routercard/ra_schedule.hpp"

using enftun::tunnel::RaSchedule;

namespace {

constexpr std::uint64_t kPeriod = 600000;
constexpr std::uint64_t kGap = RaSchedule::kMinGapMs;

// Fires the "timer" at `now`: sends if due, as NdpResponder does.
bool fire(RaSchedule& s, std::uint64_t now) {
    if (!s.due(now)) {
        return false;
    }
    s.on_sent(now);
    return true;
}

void test_nothing_before_a_trigger(void**) {
    RaSchedule s(kPeriod);
    assert_false(s.next_deadline().has_value());
    assert_false(s.due(0));
    assert_false(s.due(kPeriod * 10));
}

void test_first_request_sends_at_once(void**) {
    RaSchedule s(kPeriod);
    s.request();
    assert_true(s.pending());
    assert_int_equal(*s.next_deadline(), 0);
    assert_true(fire(s, 1234));
    assert_false(s.pending());
    assert_int_equal(*s.last_sent_ms(), 1234);
}

void test_periodic(void**) {
    RaSchedule s(kPeriod);
    s.request();
    assert_true(fire(s, 100));
    assert_int_equal(*s.next_deadline(), 100 + kPeriod);
    assert_false(fire(s, 100 + kPeriod - 1)); // early wakeup: nothing
    assert_true(fire(s, 100 + kPeriod));
    assert_int_equal(*s.next_deadline(), 100 + 2 * kPeriod);
    assert_true(fire(s, 100 + 2 * kPeriod + 7)); // late wakeup: still one RA
    assert_int_equal(*s.next_deadline(), 100 + 3 * kPeriod + 7);
}

// A solicitation right after an RA waits for the gap; later ones go at once.
void test_request_respects_min_gap(void**) {
    RaSchedule s(kPeriod);
    s.request();
    assert_true(fire(s, 1000));
    s.request(); // e.g. an RS 0.5 s after the RA
    assert_int_equal(*s.next_deadline(), 1000 + kGap);
    assert_false(fire(s, 1500));
    assert_true(s.pending());
    assert_true(fire(s, 1000 + kGap));
    s.request(); // long after: deadline already passed
    assert_true(s.due(1000 + kGap + kGap));
}

// Idempotent: many triggers while one RA is pending give one RA.
void test_requests_coalesce(void**) {
    RaSchedule s(kPeriod);
    s.request();
    s.request();
    s.request();
    assert_true(fire(s, 0));
    assert_false(fire(s, 0));
    for (int i = 0; i < 10; ++i) {
        s.request(); // a burst of RS
    }
    assert_int_equal(*s.next_deadline(), kGap);
    int sent = 0;
    for (std::uint64_t t = 0; t <= 2 * kGap; t += 100) {
        sent += fire(s, t) ? 1 : 0;
    }
    assert_int_equal(sent, 1);
}

// With a period shorter than the gap, a request never delays the periodic RA.
void test_short_period(void**) {
    RaSchedule s(1000, kGap);
    s.request();
    assert_true(fire(s, 0));
    s.request();
    assert_int_equal(*s.next_deadline(), 1000);
}

// RFC 4861 §6.2.6: an RA answering an RS waits the caller's random delay,
// from the RS or, when the previous RA is younger than the gap, from the
// end of the gap.
void test_solicit_waits_its_delay(void**) {
    RaSchedule s(kPeriod);
    s.solicit(1000, 300); // the first RS, before any RA
    assert_true(s.pending());
    assert_int_equal(*s.next_deadline(), 1300);
    assert_false(fire(s, 1299));
    assert_true(fire(s, 1300));
    s.solicit(2000, 100); // inside the gap after the RA at 1300
    assert_int_equal(*s.next_deadline(), 1300 + kGap + 100);
    assert_false(fire(s, 1300 + kGap));
    assert_true(fire(s, 1300 + kGap + 100));
    s.solicit(1400 + 2 * kGap, 0); // after the gap, delay 0: at once
    assert_true(fire(s, 1400 + 2 * kGap));
    assert_false(s.pending());
}

// The delay counts from the first RS: later ones in the same wait change
// nothing, not even with a shorter delay.
void test_solicit_keeps_the_first_deadline(void**) {
    RaSchedule s(kPeriod);
    s.solicit(0, 400);
    s.solicit(100, 0);
    s.solicit(200, 500);
    assert_int_equal(*s.next_deadline(), 400);
    int sent = 0;
    for (std::uint64_t t = 0; t <= 2000; t += 50) {
        sent += fire(s, t) ? 1 : 0;
    }
    assert_int_equal(sent, 1);
}

// An unsolicited request and a solicitation pending together: the earlier
// deadline wins, one RA answers both; the periodic RA is never delayed.
void test_solicit_and_request(void**) {
    RaSchedule s(kPeriod);
    s.solicit(0, 450);
    s.request(); // the tunnel came up: at once
    assert_int_equal(*s.next_deadline(), 0);
    assert_true(fire(s, 0));
    assert_false(s.pending());
    assert_int_equal(*s.next_deadline(), kPeriod);
    RaSchedule p(1000, kGap); // period shorter than gap + delay
    p.request();
    assert_true(fire(p, 0));
    p.solicit(10, 500);
    assert_int_equal(*p.next_deadline(), 1000);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_before_a_trigger),
        cmocka_unit_test(test_first_request_sends_at_once),
        cmocka_unit_test(test_periodic),
        cmocka_unit_test(test_request_respects_min_gap),
        cmocka_unit_test(test_requests_coalesce),
        cmocka_unit_test(test_short_period),
        cmocka_unit_test(test_solicit_waits_its_delay),
        cmocka_unit_test(test_solicit_keeps_the_first_deadline),
        cmocka_unit_test(test_solicit_and_request),
    };
    return cmocka_run_group_tests_name("ra_schedule", tests, nullptr, nullptr);
}
