// Unit tests for log's rate limits: a call site's count of suppressed lines
// is reported when its interval ends (flush_suppressed), also when no next
// line comes; the hook is told when a count starts waiting, only then.
#include "enftun/log/log.hpp"

#include <cstdint>
#include <vector>

#include "test.hpp"

using enftun::log::Level;
using enftun::log::RateLimit;

namespace {

std::vector<std::uint64_t> g_due; // what the hook was told

void test_count_flushed_when_interval_ends(void**) {
    g_due.clear();
    enftun::log::set_suppressed_hook([](std::uint64_t due) { g_due.push_back(due); });
    RateLimit rl{5000, 3, Level::Warn, "flood: %s"};
    for (int i = 0; i < 3; ++i) {
        assert_true(rl.allow(1000 + static_cast<std::uint64_t>(i)));
    }
    assert_true(g_due.empty()); // nothing suppressed: no timer
    assert_int_equal(enftun::log::flush_suppressed(2000), 0);
    for (int i = 0; i < 7; ++i) {
        assert_false(rl.allow(1100 + static_cast<std::uint64_t>(i)));
    }
    assert_int_equal(g_due.size(), 1); // told once, when the count started
    assert_int_equal(g_due[0], 6000);
    // Not yet due: nothing written, the count waits, the due time returned.
    assert_int_equal(enftun::log::flush_suppressed(5999), 6000);
    // Due: written (stderr) and taken.
    assert_int_equal(enftun::log::flush_suppressed(6000), 0);
    assert_int_equal(rl.take_suppressed(), 0);
    assert_int_equal(enftun::log::flush_suppressed(20000), 0);
    enftun::log::set_suppressed_hook({});
}

// A count the next line let through already carried is off the list.
void test_count_taken_by_next_line(void**) {
    g_due.clear();
    enftun::log::set_suppressed_hook([](std::uint64_t due) { g_due.push_back(due); });
    RateLimit rl{5000, 1, Level::Warn, "flood"};
    assert_true(rl.allow(1000));
    assert_false(rl.allow(1001));
    assert_int_equal(g_due.size(), 1);
    assert_true(rl.allow(7000)); // a new interval
    assert_int_equal(rl.take_suppressed(), 1);
    assert_int_equal(enftun::log::flush_suppressed(7001), 0);
    // Suppressed again: listed again, told again.
    assert_false(rl.allow(7002));
    assert_int_equal(g_due.size(), 2);
    assert_int_equal(g_due[1], 12000);
    assert_int_equal(enftun::log::flush_suppressed(12000), 0);
    enftun::log::set_suppressed_hook({});
}

// Limits without a `what` (owners that report their own counts, as
// RouteChangeLog) are never listed.
void test_unnamed_limit_not_listed(void**) {
    g_due.clear();
    enftun::log::set_suppressed_hook([](std::uint64_t due) { g_due.push_back(due); });
    RateLimit rl{5000, 1};
    assert_true(rl.allow(1000));
    assert_false(rl.allow(1001));
    assert_true(g_due.empty());
    assert_int_equal(enftun::log::flush_suppressed(9000), 0);
    assert_int_equal(rl.take_suppressed(), 1);
    enftun::log::set_suppressed_hook({});
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_flushed_when_interval_ends),
        cmocka_unit_test(test_count_taken_by_next_line),
        cmocka_unit_test(test_unnamed_limit_not_listed),
    };
    return cmocka_run_group_tests_name("log", tests, nullptr, nullptr);
}
