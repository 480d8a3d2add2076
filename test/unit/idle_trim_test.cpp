// Unit tests for link/idle_trim: one trim per quiet spell after traffic,
// none while packets move, none before any packet, none right after the
// owner trimmed on its own.
#include "enftun/link/idle_trim.hpp"

#include "test.hpp"

using enftun::tunnel::IdleTrimPolicy;

namespace {

void test_no_trim_before_any_packet(void**) {
    IdleTrimPolicy p;
    for (int i = 0; i < 5; ++i) {
        assert_false(p.on_tick(0));
    }
}

void test_one_trim_per_quiet_spell(void**) {
    IdleTrimPolicy p;
    assert_false(p.on_tick(10)); // packets moved in this period
    assert_false(p.on_tick(25)); // and in this one
    assert_true(p.on_tick(25));  // a quiet period: trim
    assert_false(p.on_tick(25)); // still quiet: once is enough
    assert_false(p.on_tick(25));
    assert_false(p.on_tick(26)); // one packet: busy again
    assert_true(p.on_tick(26));  // quiet again: trim again
}

void test_busy_tunnel_never_trims(void**) {
    IdleTrimPolicy p;
    for (std::uint64_t n = 1; n <= 100; ++n) {
        assert_false(p.on_tick(n * 1000));
    }
}

void test_owner_trim_counts(void**) {
    IdleTrimPolicy p;
    assert_false(p.on_tick(7));
    p.on_trimmed(7); // e.g. a reconnect released everything
    assert_false(p.on_tick(7));
    // A counter that restarts lower (a fresh count) is traffic, not quiet.
    p.on_trimmed(100);
    assert_false(p.on_tick(3));
    assert_true(p.on_tick(3));
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_trim_before_any_packet),
        cmocka_unit_test(test_one_trim_per_quiet_spell),
        cmocka_unit_test(test_busy_tunnel_never_trims),
        cmocka_unit_test(test_owner_trim_counts),
    };
    return cmocka_run_group_tests_name("idle_trim", tests, nullptr, nullptr);
}
