// The client's certificate-expiry verdicts, with given times: quiet with
// more than 30 days left, a warning within 30 days, an error naming the
// date once expired.
#include "enftun/tls/cert_expiry.hpp"

#include "test.hpp"

#include <cstring>

using namespace enftun::tls;

namespace {

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kNow = 1796000000; // 2026-11-30 00:53:20 UTC

void test_quiet_with_more_than_30_days(void**) {
    auto v = judge_expiry(kNow + 31 * kDay, kNow);
    assert_true(v.state == Expiry::Valid);
    assert_int_equal(v.days_left, 31);
    v = judge_expiry(kNow + 30 * kDay + 1, kNow);
    assert_true(v.state == Expiry::Valid);
    assert_string_equal(expiry_message(v, "c.pem", kNow + 30 * kDay + 1).c_str(), "");
}

void test_warns_within_30_days(void**) {
    auto v = judge_expiry(kNow + 30 * kDay, kNow);
    assert_true(v.state == Expiry::Soon);
    assert_int_equal(v.days_left, 30);
    v = judge_expiry(kNow + 5 * kDay + 7, kNow);
    assert_true(v.state == Expiry::Soon);
    assert_int_equal(v.days_left, 5);
    const std::string msg = expiry_message(v, "/etc/enftun/enf0.crt.pem", kNow + 5 * kDay + 7);
    assert_non_null(
        std::strstr(msg.c_str(), "certificate /etc/enftun/enf0.crt.pem expires in 5 days, on "));
    assert_non_null(std::strstr(msg.c_str(), format_utc(kNow + 5 * kDay + 7).c_str()));
    // notAfter itself is still valid (RFC 5280: inclusive).
    v = judge_expiry(kNow, kNow);
    assert_true(v.state == Expiry::Soon);
    assert_int_equal(v.days_left, 0);
}

void test_error_when_expired(void**) {
    auto v = judge_expiry(kNow - 1, kNow);
    assert_true(v.state == Expiry::Expired);
    const std::string msg = expiry_message(v, "c.pem", kNow - 1);
    assert_non_null(std::strstr(msg.c_str(), "certificate c.pem expired on "));
    assert_non_null(std::strstr(msg.c_str(), format_utc(kNow - 1).c_str()));
}

void test_format_utc(void**) {
    assert_string_equal(format_utc(0).c_str(), "1970-01-01 00:00:00 UTC");
    assert_string_equal(format_utc(1796000000).c_str(), "2026-11-30 00:53:20 UTC");
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quiet_with_more_than_30_days),
        cmocka_unit_test(test_warns_within_30_days),
        cmocka_unit_test(test_error_when_expired),
        cmocka_unit_test(test_format_utc),
    };
    return cmocka_run_group_tests_name("cert_expiry", tests, nullptr, nullptr);
}
