// Unit tests for control/answer_budget: the control socket's token bucket
// on a fake clock (milliseconds passed in): it starts full, refills at its
// rate up to its size, a long answer costs a token per 64 KiB and may leave
// it in debt, a clock going back refills nothing, 0 means no limit, ready()
// takes nothing and ms_until_token() says when the next token is there.
#include "enftun/control/answer_budget.hpp"

#include "test.hpp"

using enftun::control::AnswerBudget;
using enftun::control::busy_line;

namespace {

constexpr std::size_t kToken = AnswerBudget::kBytesPerToken;

int takes(AnswerBudget& b, std::uint64_t now_ms, int tries) {
    int ok = 0;
    for (int i = 0; i < tries; ++i) {
        ok += b.take(now_ms) ? 1 : 0;
    }
    return ok;
}

void test_starts_full_then_says_no(void**) {
    AnswerBudget b(20, 60);
    assert_int_equal(takes(b, 1000, 100), 60);
    assert_false(b.take(1000));
    assert_int_equal(b.tokens(), 0);
}

void test_refills_at_its_rate_up_to_its_size(void**) {
    AnswerBudget b(20, 60);
    assert_int_equal(takes(b, 0, 60), 60);
    // 20 a second: one each 50 ms, none before.
    assert_false(b.take(49));
    assert_true(b.take(50));
    assert_false(b.take(50));
    assert_int_equal(takes(b, 550, 100), 10); // 500 ms later: 10 more
    // A long quiet time fills it to its size, no more.
    assert_int_equal(takes(b, 3600 * 1000, 1000), 60);
}

void test_long_answers_cost_more_and_leave_debt(void**) {
    AnswerBudget b(20, 60);
    assert_true(b.take(0));
    b.charge(kToken - 1); // short: the one token only
    assert_int_equal(b.tokens(), 59);
    assert_true(b.take(0));
    b.charge(3 * kToken + 5); // 3 more
    assert_int_equal(b.tokens(), 55);
    // A 10,000-session JSON answer (~3 MB, 46 tokens) with a full bucket;
    // the next one puts it in debt.
    AnswerBudget c(20, 60);
    assert_true(c.take(0));
    c.charge(46 * kToken);
    assert_int_equal(c.tokens(), 13);
    assert_true(c.take(0));
    c.charge(46 * kToken);
    assert_int_equal(c.tokens(), -34);
    assert_false(c.take(0));
    assert_false(c.take(1700)); // 34 tokens back: balance 0, still none
    assert_true(c.take(1750));  // 35: one
    assert_false(c.take(1750));
}

// An answer written in slices costs what it would in one piece: the whole
// 64 KiB it crossed as it grew, however its slices cut them.
void test_sliced_answer_costs_the_same(void**) {
    AnswerBudget whole(20, 60);
    assert_true(whole.take(0));
    whole.charge(46 * kToken + 100);
    AnswerBudget sliced(20, 60);
    assert_true(sliced.take(0));
    std::size_t size = 0;
    for (std::size_t slice :
         {std::size_t{10}, kToken - 20, std::size_t{30}, 2 * kToken, std::size_t{0}, 43 * kToken}) {
        sliced.charge_growth(size, size + slice);
        size += slice;
    }
    sliced.charge_growth(size, 46 * kToken + 100);
    assert_int_equal(sliced.tokens(), whole.tokens());
    assert_int_equal(sliced.tokens(), 13);
    sliced.charge_growth(10, 5); // shrinking charges nothing
    assert_int_equal(sliced.tokens(), 13);
}

void test_clock_going_back_refills_nothing(void**) {
    AnswerBudget b(10, 2);
    assert_int_equal(takes(b, 5000, 5), 2);
    assert_false(b.take(1000));
    assert_false(b.take(5000));
    assert_true(b.take(5100));
}

void test_zero_rate_means_no_limit(void**) {
    AnswerBudget b(0, 1);
    assert_int_equal(takes(b, 0, 1000), 1000);
    b.charge(1000 * kToken);
    assert_true(b.take(0));
}

void test_ready_takes_nothing_and_says_when(void**) {
    AnswerBudget b(20, 2);
    assert_true(b.ready(0));
    assert_true(b.ready(0));
    assert_int_equal(b.tokens(), 2);
    assert_int_equal(b.ms_until_token(), 0);
    assert_int_equal(takes(b, 0, 5), 2);
    assert_false(b.ready(0));
    assert_int_equal(b.ms_until_token(), 50);
    assert_false(b.ready(30));
    assert_int_equal(b.ms_until_token(), 20);
    assert_true(b.take(50));
    b.charge(10 * kToken); // 10 in debt: 11 tokens to a whole one, 550 ms
    assert_false(b.ready(50));
    assert_int_equal(b.ms_until_token(), 550);
    assert_false(b.ready(599));
    assert_true(b.ready(600));
}

void test_busy_line(void**) {
    assert_string_equal(busy_line(20).c_str(),
                        "error: busy: at most 20 answers a second, try again\n");
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_starts_full_then_says_no),
        cmocka_unit_test(test_refills_at_its_rate_up_to_its_size),
        cmocka_unit_test(test_long_answers_cost_more_and_leave_debt),
        cmocka_unit_test(test_sliced_answer_costs_the_same),
        cmocka_unit_test(test_clock_going_back_refills_nothing),
        cmocka_unit_test(test_zero_rate_means_no_limit),
        cmocka_unit_test(test_ready_takes_nothing_and_says_when),
        cmocka_unit_test(test_busy_line),
    };
    return cmocka_run_group_tests_name("answer_budget", tests, nullptr, nullptr);
}
