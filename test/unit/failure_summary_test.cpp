// Unit tests for router/failure_summary: one line per interval, its counts,
// its top sources, and the bound on sources counted by name.
#include "enftun/router/failure_summary.hpp"

#include <cstring>
#include <string>

#include "test.hpp"

using namespace enftun::router;

namespace {

void test_nothing_to_say(void**) {
    FailureSummary s;
    assert_false(s.pending());
    assert_false(s.take(1000000).has_value());
}

void test_one_line_per_interval(void**) {
    FailureSummary s;
    for (int i = 0; i < 9000; ++i) {
        s.record("fd00:102::2", "per-source cap", 5000 + static_cast<std::uint64_t>(i));
    }
    for (int i = 0; i < 500; ++i) {
        s.record("fd00:103::2", "first-byte timeout", 6000);
    }
    s.record("fd00:104::2", "first-byte timeout", 6000);
    s.record("fd00:105::2", "TLS handshake failed", 6000);
    assert_true(s.pending());
    assert_false(s.take(14999).has_value()); // the window opened at 5000
    auto line = s.take(15000);
    assert_true(line.has_value());
    assert_string_equal(line->c_str(),
                        "9502 handshakes failed in the last 10 s (per-source cap 9000, "
                        "first-byte timeout 501, TLS handshake failed 1); top sources "
                        "fd00:102::2 (9000), fd00:103::2 (500), fd00:104::2 (1)");
    // Counted once: the next window starts empty.
    assert_false(s.pending());
    assert_false(s.take(100000).has_value());
    s.record("fd00:1::1", "first-byte timeout", 100000);
    line = s.take(110000);
    assert_string_equal(line->c_str(), "1 handshake failed in the last 10 s (first-byte timeout "
                                       "1); top sources fd00:1::1 (1)");
}

void test_sources_are_bounded(void**) {
    FailureSummary s({10000, 2, 3});
    const char* names[] = {"a", "b", "c", "d", "e"};
    for (const char* n : names) {
        s.record(n, "x", 0);
    }
    s.record("a", "x", 0);
    auto line = s.take(10000);
    assert_string_equal(line->c_str(),
                        "6 handshakes failed in the last 10 s (x 6); top sources a (2), b (1), "
                        "others (2)");
}

// A link's reason dies with the link, before the summary is taken: the
// summary must keep its own copy (it once kept the pointer).
void test_reasons_are_copied_and_bounded(void**) {
    FailureSummary s({10000, 3, 1024, 2});
    {
        std::string reason = "TLS handshake failed: client certificate refused: no EKU";
        s.record("fd00:1::1", reason.c_str(), 0);
        reason.assign(reason.size(), 'X'); // the same buffer, overwritten
    }
    s.record("fd00:1::1", "first-byte timeout", 0);
    s.record("fd00:1::1", "a third reason", 0);
    s.record("fd00:1::1", "a fourth reason", 0);
    auto line = s.take(10000);
    assert_true(line.has_value());
    assert_string_equal(line->c_str(),
                        "4 handshakes failed in the last 10 s (TLS handshake failed: client "
                        "certificate refused: no EKU 1, first-byte timeout 1, other 2); top "
                        "sources fd00:1::1 (4)");
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_to_say),
        cmocka_unit_test(test_one_line_per_interval),
        cmocka_unit_test(test_sources_are_bounded),
        cmocka_unit_test(test_reasons_are_copied_and_bounded),
    };
    return cmocka_run_group_tests_name("failure_summary", tests, nullptr, nullptr);
}
