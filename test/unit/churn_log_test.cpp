// Unit tests for router/churn_log: a client's first line per interval is
// always written, a churning client gets per_client lines, the repeats
// budget bounds all clients together, the summary counts exactly what was
// left out (by kind and by client) and comes only once the interval is over.
#include "enftun/router/churn_log.hpp"

#include <cstring>
#include <string>

#include "test.hpp"

using enftun::router::ChurnLog;
using Kind = enftun::router::ChurnLog::Kind;

namespace {

void test_one_churning_client(void**) {
    ChurnLog log({.interval_ms = 10000, .per_client = 4, .repeats = 100});
    unsigned written = 0;
    // 1000 reconnects in 5 s: up and replaced each time.
    for (int i = 0; i < 1000; ++i) {
        written += log.allow("fd00:e::5", Kind::Up, 1000 + i * 5) ? 1 : 0;
        written += log.allow("fd00:e::5", Kind::Replaced, 1000 + i * 5) ? 1 : 0;
    }
    assert_int_equal(written, 4);
    assert_true(log.pending());
    assert_false(log.take(10999).has_value()); // the interval is not over
    auto line = log.take(11000);
    assert_true(line.has_value());
    assert_string_equal(line->c_str(), "session lines suppressed in the last 10 s: 1996 (up 998, "
                                       "replaced 998, closed 0) from 1 client; most fd00:e::5 "
                                       "(1996)");
    assert_false(log.pending());
    assert_false(log.take(30000).has_value());
    // The next interval starts over: its first line is written.
    assert_true(log.allow("fd00:e::5", Kind::Closed, 31000));
}

// A client still churning in the next interval gets per_churning lines
// there, not per_client again; another client keeps its full share, and a
// quiet interval clears the mark.
void test_persistent_churner(void**) {
    ChurnLog log({.interval_ms = 10000, .per_client = 4, .per_churning = 2, .repeats = 100});
    auto burst = [&log](const char* client, std::uint64_t t0) {
        unsigned written = 0;
        for (int i = 0; i < 100; ++i) {
            written += log.allow(client, Kind::Up, t0 + static_cast<std::uint64_t>(i)) ? 1 : 0;
        }
        return written;
    };
    assert_int_equal(burst("fd00:e::5", 1000), 4);
    assert_true(log.take(11000).has_value());
    assert_int_equal(burst("fd00:e::5", 11000), 2);
    assert_int_equal(burst("fd00:e::7", 11000), 4);
    auto line = log.take(21000);
    assert_true(line.has_value());
    assert_non_null(std::strstr(line->c_str(), ": 194 (up 194, replaced 0, closed 0) from 2 "));
    assert_int_equal(burst("fd00:e::5", 21000), 2);
    assert_true(log.take(31000).has_value());
    // 10 s without a line from it: the next interval is a new start.
    assert_false(log.take(41000).has_value());
    assert_int_equal(burst("fd00:e::5", 45000), 4);
}

void test_new_client_never_loses_its_first_line(void**) {
    ChurnLog log({.interval_ms = 10000, .per_client = 4, .repeats = 10});
    for (int i = 0; i < 500; ++i) {
        (void)log.allow("fd00:e::5", Kind::Up, 1000 + i);
    }
    // The budget of repeats is spent, yet every new client gets its line.
    for (int i = 0; i < 50; ++i) {
        assert_true(log.allow("fd00:e::" + std::to_string(100 + i), Kind::Up, 2000));
    }
    // Even after the interval ended, while its summary waits.
    assert_true(log.allow("fd00:e::ff", Kind::Up, 12000));
    auto line = log.take(12000);
    assert_true(line.has_value());
    assert_non_null(
        std::strstr(line->c_str(), ": 496 (up 496, replaced 0, closed 0) from 1 client"));
}

// Many clients churning at once: their first lines, then `repeats` more in
// all, whatever their number.
void test_repeats_bound_all_clients(void**) {
    ChurnLog log({.interval_ms = 10000, .per_client = 4, .repeats = 20, .top = 2});
    unsigned written = 0;
    for (int round = 0; round < 10; ++round) {
        for (int c = 0; c < 30; ++c) {
            written += log.allow("fd00:e::" + std::to_string(c), Kind::Up, 1000 + round) ? 1 : 0;
        }
    }
    assert_int_equal(written, 30 + 20);
    auto line = log.take(11000);
    assert_true(line.has_value());
    assert_non_null(std::strstr(line->c_str(), ": 250 (up 250, replaced 0, closed 0) from 30 "
                                               "clients; most "));
}

// Past max_clients nobody is tracked by name: the lines count against the
// repeats, and the summary says how many were untracked.
void test_bounded_memory(void**) {
    ChurnLog log({.interval_ms = 10000, .per_client = 4, .repeats = 5, .max_clients = 3});
    unsigned written = 0;
    for (int c = 0; c < 20; ++c) {
        written += log.allow("fd00:e::" + std::to_string(c), Kind::Closed, 1000) ? 1 : 0;
    }
    assert_int_equal(written, 3 + 5);
    auto line = log.take(11000);
    assert_true(line.has_value());
    assert_non_null(std::strstr(line->c_str(), ": 12 (up 0, replaced 0, closed 12) from 0 clients "
                                               "and untracked ones; most untracked (12)"));
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_churning_client),
        cmocka_unit_test(test_persistent_churner),
        cmocka_unit_test(test_new_client_never_loses_its_first_line),
        cmocka_unit_test(test_repeats_bound_all_clients),
        cmocka_unit_test(test_bounded_memory),
    };
    return cmocka_run_group_tests_name("churn_log", tests, nullptr, nullptr);
}
