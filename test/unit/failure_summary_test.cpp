// Unit tests for router/failure_summary: one line per interval, its counts,
// its top sources, and the bound on sources counted by name.
#include "enftun/router/failure_summary.hpp"

#include <cstring>
#include <memory>
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

// A link's reason lives in the link, which is gone by the time the summary
// is written: the summary keeps its own copy (under ASan, a kept pointer
// is a heap-use-after-free; without it, garbage in the line).
void test_reason_is_copied(void**) {
    FailureSummary s;
    {
        auto reason = std::make_unique<std::string>("TLS handshake failed: error:0A00009C:SSL "
                                                    "routines::http request");
        s.record("fd00:1::1", reason->c_str(), 0);
        reason->assign(reason->size(), 'X');
    }
    auto line = s.take(10000);
    assert_string_equal(line->c_str(),
                        "1 handshake failed in the last 10 s (TLS handshake failed: "
                        "error:0A00009C:SSL routines::http request 1); top sources fd00:1::1 (1)");
}

void test_reasons_are_bounded(void**) {
    FailureSummary s({10000, 1, 8, 2});
    for (const char* r : {"r1", "r2", "r3", "r4", "r1"}) {
        s.record("a", r, 0);
    }
    auto line = s.take(10000);
    assert_string_equal(line->c_str(), "5 handshakes failed in the last 10 s (r1 2, r2 1, other "
                                       "reasons 2); top sources a (5)");
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nothing_to_say),      cmocka_unit_test(test_one_line_per_interval),
        cmocka_unit_test(test_sources_are_bounded), cmocka_unit_test(test_reason_is_copied),
        cmocka_unit_test(test_reasons_are_bounded),
    };
    return cmocka_run_group_tests_name("failure_summary", tests, nullptr, nullptr);
}
