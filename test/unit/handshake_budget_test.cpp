// Unit tests for router/handshake_budget: admission, the per-source cap, the
// eviction (the oldest entry of the source holding the most), the first-byte
// timeout and source keys.
#include "enftun/router/handshake_budget.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstring>

#include "test.hpp"

using namespace enftun::router;

namespace {

sockaddr_storage v6(const char* text) {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(40000);
    inet_pton(AF_INET6, text, &sin6.sin6_addr);
    sockaddr_storage ss{};
    std::memcpy(&ss, &sin6, sizeof sin6);
    return ss;
}

sockaddr_storage v4(const char* text) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    inet_pton(AF_INET, text, &sin.sin_addr);
    sockaddr_storage ss{};
    std::memcpy(&ss, &sin, sizeof sin);
    return ss;
}

SourceKey key(const char* text) {
    return source_key(v6(text));
}

HandshakeBudget::Options opts(std::size_t total, std::size_t per_source) {
    return {total, per_source, 3000};
}

void test_admits_until_the_source_cap(void**) {
    HandshakeBudget b(opts(256, 3));
    for (int i = 0; i < 3; ++i) {
        auto a = b.admit(key("fd00:102::2"), 0);
        assert_true(a.admitted);
        assert_false(a.evicted.has_value());
    }
    auto refused = b.admit(key("fd00:102::2"), 0);
    assert_false(refused.admitted);
    assert_false(refused.evicted.has_value());
    assert_int_equal(b.count(key("fd00:102::2")), 3);
    assert_int_equal(b.size(), 3);
    // Another source is still welcome.
    assert_true(b.admit(key("fd00:103::2"), 0).admitted);
}

void test_release_frees_a_source_slot(void**) {
    HandshakeBudget b(opts(256, 2));
    auto first = b.admit(key("fd00:102::2"), 0);
    assert_true(b.admit(key("fd00:102::2"), 0).admitted);
    assert_false(b.admit(key("fd00:102::2"), 0).admitted);
    b.release(first.id);
    assert_int_equal(b.count(key("fd00:102::2")), 1);
    assert_true(b.admit(key("fd00:102::2"), 0).admitted);
    b.release(first.id); // twice: no effect
    assert_int_equal(b.count(key("fd00:102::2")), 2);
}

void test_full_budget_evicts_the_oldest(void**) {
    HandshakeBudget b(opts(3, 3));
    auto a1 = b.admit(key("fd00:1::1"), 10);
    auto a2 = b.admit(key("fd00:2::1"), 20);
    auto a3 = b.admit(key("fd00:3::1"), 30);
    b.first_bytes(a1.id); // progress does not protect the oldest
    auto a4 = b.admit(key("fd00:4::1"), 40);
    assert_true(a4.admitted);
    assert_true(a4.evicted.has_value());
    assert_int_equal(*a4.evicted, a1.id);
    assert_int_equal(b.size(), 3);
    assert_int_equal(b.count(key("fd00:1::1")), 0);
    auto a5 = b.admit(key("fd00:5::1"), 50);
    assert_int_equal(*a5.evicted, a2.id);
    b.release(a3.id);
    auto a6 = b.admit(key("fd00:6::1"), 60);
    assert_false(a6.evicted.has_value()); // a free slot again
}

void test_eviction_makes_room_for_a_flooding_source_too(void**) {
    // The new connection's own source may own the oldest entry.
    HandshakeBudget b(opts(2, 2));
    auto a1 = b.admit(key("fd00:1::1"), 0);
    b.admit(key("fd00:1::1"), 0);
    auto other = b.admit(key("fd00:2::1"), 0);
    assert_true(other.admitted);
    assert_int_equal(*other.evicted, a1.id);
    assert_int_equal(b.count(key("fd00:1::1")), 1);
    assert_int_equal(b.count(key("fd00:2::1")), 1);
}

// An attacker with many /64s keeps the budget full, each /64 under its cap,
// and reconnects as fast as it can; a real client's single handshake, older
// than all of theirs but one, must outlive the flood (oldest-first evicted
// it at the second new connection).
void test_a_flood_from_many_sources_evicts_its_own(void**) {
    HandshakeBudget b(opts(256, 16));
    b.admit(key("fd00:a0::1"), 0); // the oldest entry: an attacker's
    auto client = b.admit(key("fd00:c1::7"), 1);
    assert_true(client.admitted);
    // 1000 more from 17 attacker /64s (fd00:a0:: .. fd00:a10::), round robin.
    char addr[64];
    std::size_t evictions = 0;
    for (int i = 0; i < 1000; ++i) {
        std::snprintf(addr, sizeof addr, "fd00:a%x::%d", i % 17, i + 2);
        auto a = b.admit(key(addr), 2 + i);
        if (!a.admitted) {
            continue; // that /64 is at its cap
        }
        if (a.evicted.has_value()) {
            ++evictions;
            assert_int_not_equal(*a.evicted, client.id);
        }
    }
    assert_true(evictions > 700); // the budget was full and churning
    assert_int_equal(b.size(), 256);
    assert_int_equal(b.count(key("fd00:c1::7")), 1);
    // New /64s too: each evicts from the largest attacker source.
    for (int i = 0; i < 100; ++i) {
        std::snprintf(addr, sizeof addr, "fd00:b%x::1", i);
        auto a = b.admit(key(addr), 2000 + i);
        assert_true(a.admitted);
        assert_int_not_equal(*a.evicted, client.id);
    }
    assert_int_equal(b.count(key("fd00:c1::7")), 1);
    b.release(client.id); // its handshake is done
    assert_int_equal(b.size(), 255);
}

void test_eviction_takes_the_largest_source_oldest_first(void**) {
    HandshakeBudget b(opts(6, 16));
    auto x1 = b.admit(key("fd00:1::1"), 0); // x: 1 entry, the oldest of all
    auto y1 = b.admit(key("fd00:2::1"), 1); // y: 3 entries
    auto z1 = b.admit(key("fd00:3::1"), 2); // z: 2 entries
    auto y2 = b.admit(key("fd00:2::2"), 3);
    auto z2 = b.admit(key("fd00:3::2"), 4);
    auto y3 = b.admit(key("fd00:2::3"), 5);
    b.release(y2.id);             // y: y1, y3 (2), z: z1, z2 (2): a tie
    b.admit(key("fd00:4::1"), 6); // a free slot
    // Tie at 2: y's oldest (y1) is older than z's (z1).
    auto a = b.admit(key("fd00:5::1"), 7);
    assert_int_equal(*a.evicted, y1.id);
    // y: 1, z: 2: z's oldest.
    a = b.admit(key("fd00:5::2"), 8);
    assert_int_equal(*a.evicted, z1.id);
    // x, y, z, fd00:4 hold 1 each, fd00:5 holds 2: fd00:5's oldest.
    a = b.admit(key("fd00:6::1"), 9);
    assert_int_equal(b.count(key("fd00:5::1")), 1);
    // All at 1: the oldest of all, x1.
    a = b.admit(key("fd00:7::1"), 10);
    assert_int_equal(*a.evicted, x1.id);
    (void)y3;
    (void)z2;
}

void test_first_byte_timeout_expires_only_silent_ones(void**) {
    HandshakeBudget b(opts(256, 16));
    auto silent1 = b.admit(key("fd00:1::1"), 1000);
    auto talker = b.admit(key("fd00:1::1"), 1500);
    auto silent2 = b.admit(key("fd00:1::1"), 2000);
    b.first_bytes(talker.id);
    assert_true(b.expire(3999).empty()); // silent1 is due at 4000
    auto gone = b.expire(4000);
    assert_int_equal(gone.size(), 1);
    assert_int_equal(gone[0], silent1.id);
    gone = b.expire(10000);
    assert_int_equal(gone.size(), 1);
    assert_int_equal(gone[0], silent2.id);
    assert_int_equal(b.size(), 1); // the talker stays (its handshake_timeout is elsewhere)
    assert_int_equal(b.count(key("fd00:1::1")), 1);
    b.release(silent1.id); // already expired: no effect
    assert_int_equal(b.size(), 1);
}

void test_source_keys(void**) {
    // IPv6: one /64 is one source.
    assert_true(key("fd00:102::2") == key("fd00:102::ffff:1"));
    assert_false(key("fd00:102::2") == key("fd00:102:0:1::2"));
    // IPv4, and IPv4-mapped IPv6 (a dual-stack listener) are one.
    assert_true(source_key(v4("198.18.0.1")) == key("::ffff:198.18.0.1"));
    assert_false(source_key(v4("198.18.0.1")) == source_key(v4("198.18.0.2")));
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admits_until_the_source_cap),
        cmocka_unit_test(test_release_frees_a_source_slot),
        cmocka_unit_test(test_full_budget_evicts_the_oldest),
        cmocka_unit_test(test_eviction_makes_room_for_a_flooding_source_too),
        cmocka_unit_test(test_a_flood_from_many_sources_evicts_its_own),
        cmocka_unit_test(test_eviction_takes_the_largest_source_oldest_first),
        cmocka_unit_test(test_first_byte_timeout_expires_only_silent_ones),
        cmocka_unit_test(test_source_keys),
    };
    return cmocka_run_group_tests_name("handshake_budget", tests, nullptr, nullptr);
}
