// Unit tests for client/reconnect_lines: the first reconnect of an interval
// keeps all its lines, a budget follows, then a summary with exact counts
// and the state; a reconnect the back-off paces, an error of a new kind and
// a line after a quiet spell are always written.
#include "enftun/client/reconnect_lines.hpp"

#include <cstring>
#include <string>

#include "test.hpp"

using enftun::tunnel::ReconnectLines;
using enftun::tunnel::ReconnectReason;
using Line = enftun::tunnel::ReconnectLines::Line;

namespace {

constexpr Line kCycle[] = {Line::Reconnect, Line::Connected, Line::TlsSession, Line::TunnelUp};

// One reconnect (all four lines) at `t`; how many were written.
unsigned cycle(ReconnectLines& lines, std::uint64_t t,
               ReconnectReason reason = ReconnectReason::RouteChange, bool paced = false) {
    unsigned written = 0;
    for (Line l : kCycle) {
        written += lines.allow(l, t, reason, paced) ? 1 : 0;
    }
    return written;
}

// A path flapping every second for 100 s: 4 + budget lines, a summary per
// interval counting exactly the rest, then only the first reconnect's lines.
void test_flapping_path(void**) {
    ReconnectLines lines({.interval_ms = 30000, .budget = 8});
    unsigned written = 0;
    for (std::uint64_t t = 1000; t < 31000; t += 1000) {
        written += cycle(lines, t);
    }
    assert_int_equal(written, 4 + 8);
    assert_true(lines.pending());
    assert_false(lines.take(30999, "up").has_value()); // the interval is not over
    auto line = lines.take(31000, "up via [fd00:200::1]:4443 as fd00:e::5");
    assert_true(line.has_value());
    assert_string_equal(line->c_str(),
                        "reconnects in the last 30 s: 30 (route_change 30); lines left out: 108 "
                        "(reconnecting 27, connected 27, TLS session 27, tunnel up 27); now up "
                        "via [fd00:200::1]:4443 as fd00:e::5");
    // Still flapping: only the first reconnect's lines (churning_budget 0).
    written = 0;
    for (std::uint64_t t = 31000; t < 61000; t += 1000) {
        written += cycle(lines, t);
    }
    assert_int_equal(written, 4);
    line = lines.take(61000, "backing off");
    assert_true(line.has_value());
    assert_non_null(std::strstr(line->c_str(), ": 30 (route_change 30); lines left out: 116 "));
    assert_non_null(std::strstr(line->c_str(), "; now backing off"));
    assert_false(lines.pending());
}

// The back-off paces failed attempts and lost tunnels: never limited, and
// the tunnel up after them is written even in the middle of a flapping.
void test_paced_reconnects_always_written(void**) {
    ReconnectLines lines({.interval_ms = 30000, .budget = 0});
    assert_int_equal(cycle(lines, 1000), 4);
    assert_int_equal(cycle(lines, 1500), 0);
    for (std::uint64_t t = 2000; t < 3000; t += 100) {
        assert_true(lines.allow(Line::Reconnect, t, ReconnectReason::RouteChange, true));
        assert_true(lines.allow(Line::Connected, t));
    }
    assert_true(lines.allow(Line::Reconnect, 3000, ReconnectReason::RouteChange, true));
    assert_true(lines.allow(Line::Connected, 3000));
    assert_true(lines.allow(Line::TlsSession, 3000));
    assert_true(lines.allow(Line::TunnelUp, 3000));
    // The next unpaced one is limited again.
    assert_int_equal(cycle(lines, 3500), 0);
}

// An error of a class not seen in this interval or the one before is
// written, whatever the budget; the same class again is not.
void test_new_kind_of_error_never_hidden(void**) {
    ReconnectLines lines({.interval_ms = 30000, .budget = 0});
    assert_int_equal(cycle(lines, 1000), 4);
    assert_int_equal(cycle(lines, 2000), 0);
    assert_true(lines.allow(Line::Reconnect, 3000, ReconnectReason::HandshakeFailed));
    assert_false(lines.allow(Line::Connected, 3000));
    assert_false(lines.allow(Line::Reconnect, 4000, ReconnectReason::HandshakeFailed));
    assert_true(lines.take(31000, "up").has_value());
    // Seen in the interval before: not new.
    assert_int_equal(cycle(lines, 31000), 4); // the interval's first
    assert_false(lines.allow(Line::Reconnect, 32000, ReconnectReason::HandshakeFailed));
    assert_true(lines.allow(Line::Reconnect, 33000, ReconnectReason::ProtocolError));
}

// A line after quiet_ms without any is news (the tunnel up after an
// outage). The client's first connect is the first reconnect of its
// interval: its lines are all written, and the budget follows.
void test_quiet_spell_and_first_connect(void**) {
    ReconnectLines lines({.interval_ms = 30000, .budget = 0, .quiet_ms = 10000});
    assert_true(lines.allow(Line::Connected, 500)); // the first connect
    assert_true(lines.allow(Line::TlsSession, 600));
    assert_true(lines.allow(Line::TunnelUp, 700));
    assert_int_equal(cycle(lines, 1000), 1); // its warning: route_change is new
    assert_false(lines.allow(Line::Reconnect, 2000, ReconnectReason::RouteChange));
    assert_false(lines.allow(Line::Connected, 2100));
    assert_true(lines.allow(Line::TunnelUp, 12100)); // 10 s after the last line
    assert_false(lines.allow(Line::TunnelUp, 12200));
    auto line = lines.take(31000, "up");
    assert_true(line.has_value());
    assert_non_null(std::strstr(line->c_str(), ": 2 (route_change 2); lines left out: 6 "
                                               "(reconnecting 1, connected 2, TLS session 1, "
                                               "tunnel up 2); now up"));
    // Nothing left out since: no summary, and the next interval starts afresh.
    assert_false(lines.take(70000, "up").has_value());
    assert_int_equal(cycle(lines, 70000), 4);
    assert_int_equal(cycle(lines, 70100), 0);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flapping_path),
        cmocka_unit_test(test_paced_reconnects_always_written),
        cmocka_unit_test(test_new_kind_of_error_never_hidden),
        cmocka_unit_test(test_quiet_spell_and_first_connect),
    };
    return cmocka_run_group_tests_name("reconnect_lines", tests, nullptr, nullptr);
}
