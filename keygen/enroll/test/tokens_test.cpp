// TokenStore: a token is good for one certificate. Claims are exclusive
// (of many concurrent ones exactly one succeeds), a consumed token is
// refused for good (and says so), a released one is good again until it
// expires, and a claim held past the expiry still ends cleanly.
#include "enroll/tokens.hpp"

#include "test.hpp"

#include <atomic>
#include <thread>
#include <vector>

using namespace enftun::enroll;

namespace {

void test_claim_consume_is_single_use(void**) {
    TokenStore tokens;
    const auto t0 = TokenStore::Clock::now();
    const std::string t = tokens.issue("ops", t0);
    TokenStore::Refusal why{};
    auto user = tokens.claim(t, &why, t0);
    assert_true(user.has_value());
    assert_string_equal(user->c_str(), "ops");
    // A second request while the first is in progress.
    assert_false(tokens.claim(t, &why, t0).has_value());
    assert_int_equal(static_cast<int>(why), static_cast<int>(TokenStore::Refusal::InUse));
    tokens.consume(t);
    assert_false(tokens.claim(t, &why, t0).has_value());
    assert_int_equal(static_cast<int>(why), static_cast<int>(TokenStore::Refusal::Used));
    assert_false(tokens.user_of(t, t0).has_value());
    assert_false(tokens.claim("nonsense", &why, t0).has_value());
    assert_int_equal(static_cast<int>(why), static_cast<int>(TokenStore::Refusal::Unknown));
}

void test_release_makes_it_good_again_until_expiry(void**) {
    TokenStore tokens;
    const auto t0 = TokenStore::Clock::now();
    const std::string t = tokens.issue("ops", t0);
    assert_true(tokens.claim(t, nullptr, t0).has_value());
    tokens.release(t); // the request failed (a 409, say)
    assert_true(tokens.claim(t, nullptr, t0 + std::chrono::seconds(10)).has_value());
    tokens.release(t);
    TokenStore::Refusal why{};
    assert_false(tokens.claim(t, &why, t0 + TokenStore::kTokenLifetime).has_value());
    assert_int_equal(static_cast<int>(why), static_cast<int>(TokenStore::Refusal::Unknown));
}

void test_claim_held_past_expiry_ends_cleanly(void**) {
    TokenStore tokens;
    const auto t0 = TokenStore::Clock::now();
    const std::string t = tokens.issue("ops", t0);
    assert_true(tokens.claim(t, nullptr, t0).has_value());
    // Another login after the first token expired sweeps expired tokens:
    // the claimed one stays until its request ends.
    (void)tokens.issue("other", t0 + TokenStore::kTokenLifetime + std::chrono::seconds(1));
    tokens.consume(t);
    TokenStore::Refusal why{};
    assert_false(tokens.claim(t, &why, t0).has_value());
    assert_int_equal(static_cast<int>(why), static_cast<int>(TokenStore::Refusal::Used));
}

void test_concurrent_claims_exactly_one_wins(void**) {
    TokenStore tokens;
    for (int round = 0; round < 50; ++round) {
        const std::string t = tokens.issue("ops");
        std::atomic<int> won{0};
        std::vector<std::thread> threads;
        for (int i = 0; i < 8; ++i) {
            threads.emplace_back([&] {
                if (tokens.claim(t).has_value()) {
                    ++won;
                    tokens.consume(t);
                }
            });
        }
        for (auto& th : threads) {
            th.join();
        }
        assert_int_equal(won.load(), 1);
    }
}

void test_token_claim_releases_unless_consumed(void**) {
    TokenStore tokens;
    const std::string t = tokens.issue("ops");
    assert_true(tokens.claim(t).has_value());
    { TokenClaim claim(tokens, t); } // an early return: handed back
    assert_true(tokens.claim(t).has_value());
    {
        TokenClaim claim(tokens, t);
        claim.consume();
    }
    assert_false(tokens.claim(t).has_value());
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_consume_is_single_use),
        cmocka_unit_test(test_release_makes_it_good_again_until_expiry),
        cmocka_unit_test(test_claim_held_past_expiry_ends_cleanly),
        cmocka_unit_test(test_concurrent_claims_exactly_one_wins),
        cmocka_unit_test(test_token_claim_releases_unless_consumed),
    };
    return cmocka_run_group_tests_name("enroll_tokens", tests, nullptr, nullptr);
}
