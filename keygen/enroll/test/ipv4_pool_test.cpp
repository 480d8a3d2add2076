// IPv4 allocation from `ipv4_pool` (auto = lowest free, exact, taken,
// outside, network and broadcast, exhaustion, no pool) and the text forms
// it rests on: the pool prefix and the device's request (common/ipv4.hpp).
#include "enroll/ipv4_pool.hpp"

#include "test.hpp"

#include <set>
#include <string>
#include <vector>

using namespace enftun::enroll;
using enftun::keygen::format_ipv4;
using enftun::keygen::Ipv4Request;
using enftun::keygen::parse_ipv4_prefix;
using enftun::keygen::parse_ipv4_request;
using enftun::proto::Ipv4Addr;

namespace {

Ipv4Addr v4(const char* text) {
    return *enftun::keygen::parse_ipv4_addr(text);
}

Ipv4Pool pool(const char* text, std::vector<Ipv4Addr> reserved = {}) {
    return Ipv4Pool{*parse_ipv4_prefix(text), std::move(reserved)};
}

void expect_message(const std::string& got, const char* want) {
    if (got.find(want) == std::string::npos) {
        print_error("message '%s' lacks '%s'\n", got.c_str(), want);
        fail();
    }
}

struct Refusal {
    const char* text;
    const char* message;
};

// Each text is refused by parse with a message holding the case's words.
template <typename Parse, std::size_t N>
void expect_refusals(Parse parse, const Refusal (&cases)[N]) {
    for (const auto& c : cases) {
        auto r = parse(c.text);
        if (r) {
            fail_msg("%s accepted", c.text);
        }
        expect_message(r.error().message, c.message);
    }
}

void test_auto_is_lowest_free_and_skips_network(void**) {
    std::set<Ipv4Addr> taken;
    const auto is_taken = [&](const Ipv4Addr& a) { return taken.count(a) != 0; };
    const auto p = pool("198.18.0.0/24");
    for (const char* want : {"198.18.0.1", "198.18.0.2", "198.18.0.3"}) {
        auto a = allocate_ipv4(p, Ipv4Request{}, is_taken);
        assert_true(a.has_value());
        assert_string_equal(format_ipv4(*a).c_str(), want);
        taken.insert(*a);
    }
    // A free address below a taken one (an exact request jumped ahead)
    // goes first.
    taken.erase(v4("198.18.0.2"));
    taken.insert(v4("198.18.0.9"));
    assert_string_equal(format_ipv4(*allocate_ipv4(p, Ipv4Request{}, is_taken)).c_str(),
                        "198.18.0.2");
}

void test_exact_in_pool_free_taken_outside(void**) {
    std::set<Ipv4Addr> taken{v4("198.18.0.7")};
    const auto is_taken = [&](const Ipv4Addr& a) { return taken.count(a) != 0; };
    const auto p = pool("198.18.0.0/24");
    auto ok = allocate_ipv4(p, *parse_ipv4_request("198.18.0.200"), is_taken);
    assert_true(ok.has_value());
    assert_true(*ok == v4("198.18.0.200"));

    auto dup = allocate_ipv4(p, *parse_ipv4_request("198.18.0.7"), is_taken);
    assert_int_equal(dup.error().status, 409);
    assert_string_equal(dup.error().message.c_str(), "IPv4 address 198.18.0.7 is already enrolled");

    auto out = allocate_ipv4(p, *parse_ipv4_request("198.18.1.7"), is_taken);
    assert_int_equal(out.error().status, 403);
    expect_message(out.error().message, "198.18.1.7 is not inside the IPv4 pool 198.18.0.0/24");
}

void test_network_and_broadcast_never_issued(void**) {
    const auto none = [](const Ipv4Addr&) { return false; };
    const auto p = pool("198.18.0.0/24");
    for (const char* reserved : {"198.18.0.0", "198.18.0.255"}) {
        auto r = allocate_ipv4(p, *parse_ipv4_request(reserved), none);
        assert_int_equal(r.error().status, 403);
        expect_message(r.error().message, "is reserved");
    }
    // 169.254/16 inside a 169/8 pool is not routable: never handed out.
    auto ll = allocate_ipv4(pool("169.0.0.0/8"),
                            Ipv4Request{Ipv4Request::Kind::Exact, v4("169.254.1.1")}, none);
    assert_int_equal(ll.error().status, 403);
}

// The configured reserved addresses (the router's own): skipped by auto,
// refused when asked for.
void test_reserved_never_issued(void**) {
    const auto none = [](const Ipv4Addr&) { return false; };
    const auto p = pool("198.18.0.0/24", {v4("198.18.0.1"), v4("198.18.0.3")});
    assert_string_equal(format_ipv4(*allocate_ipv4(p, Ipv4Request{}, none)).c_str(), "198.18.0.2");
    const auto two_taken = [&](const Ipv4Addr& a) { return a == v4("198.18.0.2"); };
    assert_string_equal(format_ipv4(*allocate_ipv4(p, Ipv4Request{}, two_taken)).c_str(),
                        "198.18.0.4");
    auto r = allocate_ipv4(p, *parse_ipv4_request("198.18.0.3"), none);
    assert_int_equal(r.error().status, 403);
    assert_string_equal(r.error().message.c_str(), "IPv4 address 198.18.0.3 is reserved");
}

void test_exhaustion_is_503(void**) {
    std::set<Ipv4Addr> taken;
    const auto is_taken = [&](const Ipv4Addr& a) { return taken.count(a) != 0; };
    // A /30: network .4, hosts .5 and .6, broadcast .7.
    const auto p = pool("198.18.0.4/30");
    for (int i = 0; i < 2; ++i) {
        auto a = allocate_ipv4(p, Ipv4Request{}, is_taken);
        assert_true(a.has_value());
        taken.insert(*a);
    }
    assert_true(taken == (std::set<Ipv4Addr>{v4("198.18.0.5"), v4("198.18.0.6")}));
    auto full = allocate_ipv4(p, Ipv4Request{}, is_taken);
    assert_int_equal(full.error().status, 503);
    assert_string_equal(full.error().message.c_str(), "IPv4 address pool exhausted");
}

void test_no_pool_refuses(void**) {
    const auto none = [](const Ipv4Addr&) { return false; };
    auto r = allocate_ipv4(Ipv4Pool{}, Ipv4Request{}, none);
    assert_int_equal(r.error().status, 403);
    assert_string_equal(r.error().message.c_str(),
                        "this service issues no IPv4 addresses (no ipv4_pool configured)");
}

void test_pool_prefix_parsing(void**) {
    auto p = parse_ipv4_prefix("10.20.0.0/16");
    assert_true(p.has_value());
    assert_int_equal(p->len, 16);
    assert_string_equal(p->to_string().c_str(), "10.20.0.0/16");
    assert_true(p->contains(v4("10.20.255.1")));
    assert_false(p->contains(v4("10.21.0.1")));
    const Refusal cases[] = {
        {"10.0.0.0", "is not an IPv4 prefix such as 198.18.0.0/24"},
        {"10.0.0.0/", "is not an IPv4 prefix"},
        {"10.0.0.0/33", "is not an IPv4 prefix"},
        {"10.0.0.0/2x", "is not an IPv4 prefix"},
        {"fd00::/64", "is not an IPv4 prefix"},
        {"10.0.0.0/31", "the prefix length must be from 8 to 30"},
        {"10.0.0.0/7", "the prefix length must be from 8 to 30"},
        {"10.0.0.1/24", "bits set after the /24"},
        {"127.0.0.0/8", "is not routable unicast address space"},
        {"224.1.0.0/16", "is not routable unicast address space"},
    };
    expect_refusals([](const char* t) { return parse_ipv4_prefix(t); }, cases);
}

void test_request_parsing(void**) {
    assert_true(parse_ipv4_request("auto")->kind == Ipv4Request::Kind::Auto);
    auto e = parse_ipv4_request("198.18.0.5");
    assert_true(e.has_value());
    assert_true(e->kind == Ipv4Request::Kind::Exact);
    assert_string_equal(e->to_string().c_str(), "198.18.0.5");
    const Refusal cases[] = {
        {"198.18.0.0/24", "198.18.0.0/24: give one IPv4 address or \"auto\", not a prefix"},
        {"fd00::5", "fd00::5 is not an IPv4 address or \"auto\""},
        {"198.18.0", "is not an IPv4 address"},
        {"198.18.0.05", "is not an IPv4 address"},
        {"AUTO", "is not an IPv4 address"},
        {"127.0.0.1", "127.0.0.1 is not a routable unicast IPv4 address"},
        {"0.0.0.0", "is not a routable unicast"},
        {"169.254.0.9", "is not a routable unicast"},
        {"224.0.0.1", "is not a routable unicast"},
        {"255.255.255.255", "is not a routable unicast"},
    };
    expect_refusals([](const char* t) { return parse_ipv4_request(t); }, cases);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto_is_lowest_free_and_skips_network),
        cmocka_unit_test(test_exact_in_pool_free_taken_outside),
        cmocka_unit_test(test_network_and_broadcast_never_issued),
        cmocka_unit_test(test_reserved_never_issued),
        cmocka_unit_test(test_exhaustion_is_503),
        cmocka_unit_test(test_no_pool_refuses),
        cmocka_unit_test(test_pool_prefix_parsing),
        cmocka_unit_test(test_request_parsing),
    };
    return cmocka_run_group_tests_name("enroll_ipv4_pool", tests, nullptr, nullptr);
}
