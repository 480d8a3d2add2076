// Unit tests for tls/key_usage: what counts as a record, when a key update
// is due, when a TLS 1.2 session must end, and the restart after a renewal.
#include "enftun/tls/key_usage.hpp"

#include "test.hpp"

using enftun::tls::KeyUsage;

namespace {

void test_a_write_counts_its_records(void**) {
    KeyUsage u(100);
    u.wrote(1);
    assert_int_equal(u.sent(), 1);
    u.wrote(16384);
    assert_int_equal(u.sent(), 2);
    u.wrote(16385); // a full record and one byte: two records
    assert_int_equal(u.sent(), 4);
    u.wrote(65536);
    assert_int_equal(u.sent(), 8);
    u.read_one();
    assert_int_equal(u.sent(), 8);
    assert_int_equal(u.received(), 1);
}

void test_own_update_due_at_the_threshold(void**) {
    KeyUsage u(3);
    u.wrote(2 * 16384);
    for (int i = 0; i < 11; ++i) {
        u.read_one(); // the peer's records do not make ours due
    }
    assert_false(u.update_due());
    assert_false(u.peer_overdue());
    u.wrote(1);
    assert_true(u.update_due());
    u.renewed(false);
    assert_int_equal(u.renewals(), 1);
    assert_int_equal(u.requests(), 0);
    assert_int_equal(u.sent(), 0);
    assert_int_equal(u.received(), 11); // the peer's key is not ours to renew
    assert_false(u.update_due());
}

void test_peer_overdue_at_four_thresholds(void**) {
    KeyUsage u(3);
    for (int i = 0; i < 11; ++i) {
        u.read_one();
    }
    assert_false(u.peer_overdue());
    u.peer_renewed(); // its KeyUpdate came: counting starts again
    assert_int_equal(u.peer_renewals(), 1);
    for (int i = 0; i < 12; ++i) {
        u.read_one();
    }
    assert_true(u.peer_overdue());
    u.renewed(true); // asked: not again before another four thresholds
    assert_int_equal(u.requests(), 1);
    assert_false(u.peer_overdue());
}

void test_tls12_spent_at_twice_sent_or_four_times_received(void**) {
    KeyUsage sending(3);
    sending.wrote(5 * 16384);
    assert_false(sending.session_spent());
    sending.wrote(1);
    assert_true(sending.session_spent());
    KeyUsage receiving(3);
    for (int i = 0; i < 11; ++i) {
        receiving.read_one();
    }
    assert_false(receiving.session_spent());
    receiving.read_one();
    assert_true(receiving.session_spent());
}

void test_default_threshold_leaves_rfc8446_margin(void**) {
    // 2^24.5 records is ~23.7 million: even a peer that must be asked
    // (four thresholds) is renewed before.
    static_assert(enftun::tls::kKeyUpdateRecords * 4 < 23'726'566);
    KeyUsage u;
    for (int i = 0; i < 256; ++i) {
        u.wrote(std::size_t{16384} * 16384); // 2^14 records a call
    }
    assert_true(u.update_due()); // 2^22
}

void test_zero_threshold_is_one(void**) {
    KeyUsage u(0);
    assert_false(u.update_due());
    u.wrote(1);
    assert_true(u.update_due());
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_write_counts_its_records),
        cmocka_unit_test(test_own_update_due_at_the_threshold),
        cmocka_unit_test(test_peer_overdue_at_four_thresholds),
        cmocka_unit_test(test_tls12_spent_at_twice_sent_or_four_times_received),
        cmocka_unit_test(test_default_threshold_leaves_rfc8446_margin),
        cmocka_unit_test(test_zero_threshold_is_one),
    };
    return cmocka_run_group_tests_name("key_usage", tests, nullptr, nullptr);
}
