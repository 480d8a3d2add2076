// Address allocation: random addresses inside the pool, /64 requests
// inside it, exact addresses checked against pool, reservations and what
// is taken, and exhaustion.
#include "enroll/pool.hpp"

#include "test.hpp"

#include <openssl/rand.h>

#include <set>
#include <string>

using namespace enftun::enroll;
using enftun::keygen::AddressRequest;
using enftun::keygen::parse_address_request;
using enftun::proto::Ipv6Addr;

namespace {

Pool pool_of(std::initializer_list<const char*> prefixes,
             std::initializer_list<const char*> reserved = {}) {
    Pool p;
    for (const char* text : prefixes) {
        p.prefixes.push_back(enftun::config::parse_prefix(text, false).value());
    }
    for (const char* text : reserved) {
        p.reserved.push_back(*Ipv6Addr::parse(text));
    }
    return p;
}

void openssl_random(std::uint8_t* out, std::size_t n) {
    RAND_bytes(out, static_cast<int>(n));
}

AddressRequest req(const char* text) {
    return parse_address_request(text).value();
}

bool in(const char* prefix, const Ipv6Addr& a) {
    auto p = enftun::config::parse_prefix(prefix, false).value();
    return enftun::keygen::prefix_contains(p.addr, p.len, a);
}

void test_auto_is_random_inside_the_pool(void**) {
    const Pool pool = pool_of({"fd00:e::/64", "fd00:f:1::/48"});
    std::set<std::string> seen;
    const auto none = [](const Ipv6Addr&) { return false; };
    bool in_first = false;
    bool in_second = false;
    for (int i = 0; i < 200; ++i) {
        auto a = allocate(pool, req("auto"), none, openssl_random);
        assert_true(a.has_value());
        assert_true(in_pool(pool, *a));
        in_first = in_first || in("fd00:e::/64", *a);
        in_second = in_second || in("fd00:f:1::/48", *a);
        seen.insert(a->to_string());
    }
    assert_int_equal(seen.size(), 200); // 2^64 and 2^80 choices: no repeats
    assert_true(in_first && in_second); // both prefixes are used
}

void test_auto_skips_taken_reserved_and_anycast(void**) {
    // A /126 holds 4 addresses: ::0 (anycast) never, ::1 reserved, ::2
    // taken, so ::3 is the only one left.
    const Pool pool = pool_of({"fd00:e::/126"}, {"fd00:e::1"});
    const Ipv6Addr taken_addr = *Ipv6Addr::parse("fd00:e::2");
    const auto taken = [&](const Ipv6Addr& a) { return a == taken_addr; };
    for (int i = 0; i < 20; ++i) {
        auto a = allocate(pool, req("auto"), taken, openssl_random);
        assert_true(a.has_value());
        assert_string_equal(a->to_string().c_str(), "fd00:e::3");
    }
}

void test_exhaustion_is_503(void**) {
    const Pool pool = pool_of({"fd00:e::/126"}, {"fd00:e::1"});
    std::set<std::string> taken_set;
    const auto taken = [&](const Ipv6Addr& a) { return taken_set.count(a.to_string()) != 0; };
    for (int i = 0; i < 2; ++i) { // ::2 and ::3
        auto a = allocate(pool, req("auto"), taken, openssl_random);
        assert_true(a.has_value());
        taken_set.insert(a->to_string());
    }
    auto full = allocate(pool, req("auto"), taken, openssl_random);
    assert_false(full.has_value());
    assert_int_equal(full.error().status, 503);
    assert_string_equal(full.error().message.c_str(), "address pool exhausted");
}

void test_small_pool_used_to_the_last_address(void**) {
    // 1024 addresses, 1023 usable: the random probes alone would miss the
    // last ones; the scan finds them.
    const Pool pool = pool_of({"fd00:e::/118"});
    std::set<std::string> taken_set;
    const auto taken = [&](const Ipv6Addr& a) { return taken_set.count(a.to_string()) != 0; };
    for (int i = 0; i < 1023; ++i) {
        auto a = allocate(pool, req("auto"), taken, openssl_random);
        assert_true(a.has_value());
        assert_true(taken_set.insert(a->to_string()).second);
    }
    assert_int_equal(allocate(pool, req("auto"), taken, openssl_random).error().status, 503);
}

void test_prefix64_inside_the_pool(void**) {
    const Pool pool = pool_of({"fd00:e::/48"});
    const auto none = [](const Ipv6Addr&) { return false; };
    for (int i = 0; i < 50; ++i) {
        auto a = allocate(pool, req("fd00:e:0:7::/64"), none, openssl_random);
        assert_true(a.has_value());
        assert_true(in("fd00:e:0:7::/64", *a));
    }
    auto outside = allocate(pool, req("fd00:f::/64"), none, openssl_random);
    assert_int_equal(outside.error().status, 403);
    // A /64 wider than the pool is not inside it either.
    const Pool narrow = pool_of({"fd00:e::/96"});
    assert_int_equal(allocate(narrow, req("fd00:e::/64"), none, openssl_random).error().status,
                     403);
}

void test_exact_checks(void**) {
    const Pool pool = pool_of({"fd00:e::/64"}, {"fd00:e::1"});
    const Ipv6Addr five = *Ipv6Addr::parse("fd00:e::5");
    const auto taken = [&](const Ipv6Addr& a) { return a == five; };
    auto ok = allocate(pool, req("fd00:e::6"), taken, openssl_random);
    assert_true(ok.has_value());
    assert_string_equal(ok->to_string().c_str(), "fd00:e::6");
    auto dup = allocate(pool, req("fd00:e::5"), taken, openssl_random);
    assert_int_equal(dup.error().status, 409);
    assert_string_equal(dup.error().message.c_str(), "address fd00:e::5 is already enrolled");
    assert_int_equal(allocate(pool, req("fd00:e::1"), taken, openssl_random).error().status, 403);
    assert_int_equal(allocate(pool, req("fd00:e::"), taken, openssl_random).error().status, 403);
    assert_int_equal(allocate(pool, req("fd00:f::5"), taken, openssl_random).error().status, 403);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto_is_random_inside_the_pool),
        cmocka_unit_test(test_auto_skips_taken_reserved_and_anycast),
        cmocka_unit_test(test_exhaustion_is_503),
        cmocka_unit_test(test_small_pool_used_to_the_last_address),
        cmocka_unit_test(test_prefix64_inside_the_pool),
        cmocka_unit_test(test_exact_checks),
    };
    return cmocka_run_group_tests_name("enroll_pool", tests, nullptr, nullptr);
}
