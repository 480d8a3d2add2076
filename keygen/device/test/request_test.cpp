// enftun-keygen's request argument (ADDRESS|PREFIX/64|auto), what may
// satisfy it, and the default service URL.
#include "request.hpp"

#include "test.hpp"

#include <cstring>

using enftun::keygen::EnrollRequest;
using enftun::keygen::parse_request;
using enftun::proto::Ipv6Addr;

namespace {

void expect_error(const char* text, const char* fragment) {
    auto r = parse_request(text);
    if (r) {
        fail_msg("\"%s\" was accepted", text);
    }
    if (std::strstr(r.error().c_str(), fragment) == nullptr) {
        fail_msg("\"%s\": \"%s\" lacks \"%s\"", text, r.error().c_str(), fragment);
    }
}

void test_accepts_auto_prefix_and_address(void**) {
    auto a = parse_request("auto");
    assert_true(a.has_value());
    assert_true(a->kind == EnrollRequest::Kind::Auto);
    assert_string_equal(a->text.c_str(), "auto");

    auto p = parse_request("fd00:e:0:1::/64");
    assert_true(p.has_value());
    assert_true(p->kind == EnrollRequest::Kind::Prefix64);
    assert_string_equal(p->text.c_str(), "fd00:e:0:1::/64");

    // Sent in RFC 5952 form whatever the user typed.
    auto e = parse_request("FD00:000E:0:0::0005");
    assert_true(e.has_value());
    assert_true(e->kind == EnrollRequest::Kind::Exact);
    assert_string_equal(e->text.c_str(), "fd00:e::5");
}

void test_rejects_bad_requests(void**) {
    expect_error("fd00::/65", "is a /65: only a /64");
    expect_error("fd00::/48", "is a /48");
    expect_error("fd00::zz", "not an IPv6 address, a /64 prefix or \"auto\": \"fd00::zz\"");
    expect_error("fd00::zz/64", "the part before '/' is not an IPv6 address");
    expect_error("fd00::/6x", "the length is not a number");
    expect_error("fd00::/", "the length is not a number");
    expect_error("fd00:e:0:1::5/64", "has bits set past /64");
    expect_error("10.0.0.1", "not an IPv6 address");
    expect_error("", "not an IPv6 address");
    expect_error("AUTO", "not an IPv6 address");
    expect_error("::", "cannot be a device's address");
    expect_error("::1", "cannot be a device's address");
    expect_error("ff02::1", "cannot be a device's address");
    expect_error("fe80::1", "cannot be a device's address");
    expect_error("ff00::/64", "not a unicast prefix");
}

void test_satisfies(void**) {
    const auto addr = [](const char* t) { return *Ipv6Addr::parse(t); };
    auto any = parse_request("auto");
    auto net = parse_request("fd00:e:0:1::/64");
    auto one = parse_request("fd00:e::5");
    assert_true(any && net && one);
    assert_true(satisfies(*any, addr("2001:db8::9")));
    assert_false(satisfies(*any, addr("ff02::1")));
    assert_false(satisfies(*any, addr("::")));
    assert_true(satisfies(*net, addr("fd00:e:0:1:abcd::1")));
    assert_false(satisfies(*net, addr("fd00:e:0:2::1")));
    assert_false(satisfies(*net, addr("fd00:e::1")));
    assert_true(satisfies(*one, addr("fd00:e::5")));
    assert_false(satisfies(*one, addr("fd00:e::6")));
}

void test_default_server_url(void**) {
    using enftun::keygen::default_server_url;
    assert_string_equal(default_server_url("fd00:e::1").c_str(), "https://[fd00:e::1]:8443");
    assert_string_equal(default_server_url("192.0.2.1").c_str(), "https://192.0.2.1:8443");
    assert_string_equal(default_server_url("router.example").c_str(),
                        "https://router.example:8443");
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_auto_prefix_and_address),
        cmocka_unit_test(test_rejects_bad_requests),
        cmocka_unit_test(test_satisfies),
        cmocka_unit_test(test_default_server_url),
    };
    return cmocka_run_group_tests_name("keygen_request", tests, nullptr, nullptr);
}
