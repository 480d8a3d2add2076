// EnrolRate: a login's enrolments per hour, with a clock of the test's.
#include "enroll/enrol_rate.hpp"

#include "test.hpp"

using namespace enftun::enroll;
using std::chrono::seconds;

namespace {

const EnrolRate::Clock::time_point t0{};

// The limit at once, then 429 with the seconds until one is free again;
// refills at the limit per hour; other logins unaffected.
void test_burst_then_refill(void**) {
    EnrolRate rate(3);
    for (int i = 0; i < 3; ++i) {
        assert_int_equal(rate.take("ops", t0), 0);
    }
    assert_int_equal(rate.take("ops", t0), 1200); // 3 per hour: one every 20 min
    assert_int_equal(rate.take("fleet", t0), 0);
    assert_int_equal(rate.take("ops", t0 + seconds(1199)), 1);
    assert_int_equal(rate.take("ops", t0 + seconds(1200)), 0);
    assert_int_equal(rate.take("ops", t0 + seconds(1201)), 1199);
    // A long pause refills to the limit, not beyond.
    for (int i = 0; i < 3; ++i) {
        assert_int_equal(rate.take("ops", t0 + seconds(100000)), 0);
    }
    assert_true(rate.take("ops", t0 + seconds(100000)) > 0);
}

// A failed request hands its enrolment back.
void test_give_back(void**) {
    EnrolRate rate(1);
    assert_int_equal(rate.take("ops", t0), 0);
    assert_int_equal(rate.take("ops", t0), 3600);
    rate.give_back("ops");
    assert_int_equal(rate.take("ops", t0), 0);
    rate.give_back("ops");
    rate.give_back("ops"); // never above the limit
    assert_int_equal(rate.take("ops", t0), 0);
    assert_int_equal(rate.take("ops", t0), 3600);
}

void test_no_limit(void**) {
    EnrolRate rate(0);
    for (int i = 0; i < 10000; ++i) {
        assert_int_equal(rate.take("ops", t0), 0);
    }
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_refill),
        cmocka_unit_test(test_give_back),
        cmocka_unit_test(test_no_limit),
    };
    return cmocka_run_group_tests_name("enroll_enrol_rate", tests, nullptr, nullptr);
}
