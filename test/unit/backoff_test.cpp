// Unit tests for conn/backoff: the ceiling schedule (doubling from base to
// cap), full jitter over [floor, ceiling] with an injected random source,
// the reset after a stable connection, and saturation instead of overflow
// with extreme options.
#include "enftun/conn/backoff.hpp"

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "test.hpp"

using enftun::conn::Backoff;

namespace {

// How the injected random source answers.
enum class Draw { Max, Zero };

// Group-owned state: a failed assert longjmps past locals' destructors.
struct State {
    Draw draw = Draw::Max;
    std::vector<std::uint64_t> bounds; // every bound the backoff asked for
    std::optional<Backoff> backoff;
};
std::optional<State> g;

Backoff::Random fake_random() {
    return [](std::uint64_t bound) {
        g->bounds.push_back(bound);
        return g->draw == Draw::Max ? bound : 0;
    };
}

void make_backoff(Backoff::Options opts, Draw draw) {
    g->draw = draw;
    g->backoff.emplace(opts, fake_random());
}

Backoff::Options default_opts() {
    Backoff::Options o;
    o.base_ms = 1000;
    o.cap_ms = 60000;
    o.floor_ms = 100;
    o.stable_ms = 30000;
    return o;
}

void test_ceilings_double_to_cap_and_stay(void**) {
    make_backoff(default_opts(), Draw::Max);
    const std::uint64_t want[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
    for (std::uint64_t ceiling : want) {
        assert_int_equal(g->backoff->current_ceiling(), ceiling);
        // Drawing the maximum gives exactly the ceiling.
        assert_int_equal(g->backoff->next_delay(), ceiling);
    }
}

// The schedule README.md and conf/example.conf describe, with the options
// the client leaves at their defaults (it sets only cap_ms): the first delay
// lies in [100 ms, 1 s], then the ceiling doubles (2 s, 4 s, ...) to the cap.
void test_defaults_are_the_documented_schedule(void**) {
    Backoff::Options o;
    assert_int_equal(o.base_ms, 1000);
    assert_int_equal(o.floor_ms, 100);
    o.cap_ms = 5000;
    make_backoff(o, Draw::Zero);
    assert_int_equal(g->backoff->next_delay(), 100);
    make_backoff(o, Draw::Max);
    const std::uint64_t want[] = {1000, 2000, 4000, 5000, 5000};
    for (std::uint64_t ceiling : want) {
        assert_int_equal(g->backoff->next_delay(), ceiling);
    }
}

void test_delay_is_floor_when_draw_is_zero(void**) {
    make_backoff(default_opts(), Draw::Zero);
    for (int i = 0; i < 20; ++i) {
        assert_int_equal(g->backoff->next_delay(), 100);
    }
}

void test_full_jitter_asks_for_whole_range(void**) {
    make_backoff(default_opts(), Draw::Zero);
    for (int i = 0; i < 10; ++i) {
        std::uint64_t ceiling = g->backoff->current_ceiling();
        (void)g->backoff->next_delay();
        // The draw spans [0, ceiling - floor]: delays cover [floor, ceiling].
        assert_int_equal(g->bounds.back(), ceiling - 100);
    }
}

void test_system_random_covers_range(void**) {
    Backoff::Random r = enftun::conn::system_random();
    bool seen[10] = {};
    // 2000 draws from 10 values: missing one has probability ~1e-90.
    for (int i = 0; i < 2000; ++i) {
        std::uint64_t v = r(9);
        assert_true(v <= 9);
        seen[v] = true;
    }
    for (bool s : seen) {
        assert_true(s);
    }
    assert_int_equal(r(0), 0);
}

void test_reset_after_stable_connection(void**) {
    make_backoff(default_opts(), Draw::Max);
    for (int i = 0; i < 4; ++i) {
        (void)g->backoff->next_delay();
    }
    assert_int_equal(g->backoff->current_ceiling(), 16000);
    g->backoff->on_connection_ended(5000, 5000 + 30000); // exactly stable_ms
    assert_int_equal(g->backoff->attempt(), 0);
    assert_int_equal(g->backoff->current_ceiling(), 1000);
    assert_int_equal(g->backoff->next_delay(), 1000);
}

void test_no_reset_after_short_connection(void**) {
    make_backoff(default_opts(), Draw::Max);
    for (int i = 0; i < 4; ++i) {
        (void)g->backoff->next_delay();
    }
    g->backoff->on_connection_ended(5000, 5000 + 29999);
    assert_int_equal(g->backoff->current_ceiling(), 16000);
    // A clock that went backwards is not a stable connection either.
    g->backoff->on_connection_ended(5000, 4000);
    assert_int_equal(g->backoff->current_ceiling(), 16000);
    assert_int_equal(g->backoff->next_delay(), 16000);
}

void test_explicit_reset(void**) {
    make_backoff(default_opts(), Draw::Max);
    (void)g->backoff->next_delay();
    (void)g->backoff->next_delay();
    g->backoff->reset();
    assert_int_equal(g->backoff->next_delay(), 1000);
}

// Checks 1000 attempts: ceilings never shrink, never pass the cap, end at
// the cap, and every delay lies in [floor, ceiling].
void check_thousand_attempts(Backoff::Options opts, Draw draw) {
    make_backoff(opts, draw);
    std::uint64_t prev = 0;
    for (int i = 0; i < 1000; ++i) {
        std::uint64_t ceiling = g->backoff->current_ceiling();
        assert_true(ceiling >= prev);
        assert_true(ceiling <= opts.cap_ms);
        std::uint64_t d = g->backoff->next_delay();
        assert_true(d >= opts.floor_ms);
        assert_true(d <= ceiling);
        prev = ceiling;
    }
    assert_int_equal(g->backoff->current_ceiling(), opts.cap_ms);
    assert_true(g->backoff->attempt() <= 64);
}

void test_no_overflow_after_1000_attempts(void**) {
    check_thousand_attempts(default_opts(), Draw::Max);
    check_thousand_attempts(default_opts(), Draw::Zero);
}

void test_no_overflow_with_huge_cap(void**) {
    Backoff::Options o = default_opts();
    o.base_ms = 3; // 3 * 2^63 wraps if doubling does not saturate
    o.floor_ms = 1;
    o.cap_ms = std::numeric_limits<std::uint64_t>::max();
    check_thousand_attempts(o, Draw::Max);
    check_thousand_attempts(o, Draw::Zero);
}

void test_zero_options_still_grow(void**) {
    // base 0 and floor 0 would otherwise stay at 0 ms forever: a hot loop.
    Backoff::Options o;
    o.base_ms = 0;
    o.floor_ms = 0;
    o.cap_ms = 8;
    make_backoff(o, Draw::Max);
    const std::uint64_t want[] = {1, 2, 4, 8, 8};
    for (std::uint64_t ceiling : want) {
        assert_int_equal(g->backoff->next_delay(), ceiling);
    }
}

void test_options_are_normalised(void**) {
    // A base below the floor starts at the floor; a cap below the floor is
    // raised to it, so the draw range is never negative.
    Backoff::Options o;
    o.base_ms = 10;
    o.floor_ms = 500;
    o.cap_ms = 200;
    make_backoff(o, Draw::Max);
    assert_int_equal(g->backoff->current_ceiling(), 500);
    assert_int_equal(g->backoff->next_delay(), 500);
    assert_int_equal(g->bounds.back(), 0);
}

int setup(void**) {
    g.emplace();
    return 0;
}

int teardown(void**) {
    g.reset();
    return 0;
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ceilings_double_to_cap_and_stay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults_are_the_documented_schedule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delay_is_floor_when_draw_is_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_jitter_asks_for_whole_range, setup, teardown),
        cmocka_unit_test(test_system_random_covers_range),
        cmocka_unit_test_setup_teardown(test_reset_after_stable_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_reset_after_short_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_explicit_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_overflow_after_1000_attempts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_overflow_with_huge_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_options_still_grow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_options_are_normalised, setup, teardown),
    };
    return cmocka_run_group_tests_name("backoff", tests, nullptr, nullptr);
}
