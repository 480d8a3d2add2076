// Unit tests for router/client_route: which destinations of a client's
// packets the router answers, drops as not global, or forwards.
#include "enftun/router/client_route.hpp"

#include "test.hpp"

using namespace enftun::router;
using enftun::proto::Ipv6Addr;

namespace {

struct Case {
    const char* dst;
    ClientRoute want;
};

void test_routes(void**) {
    const Ipv6Addr router = *Ipv6Addr::parse("fd00:e::1");
    const Case cases[] = {
        {"fe80::1", ClientRoute::Local},
        {"fd00:e::1", ClientRoute::Local},
        {"fd00:e::6", ClientRoute::Forward},   // another client (ULA)
        {"2001:db8::1", ClientRoute::Forward}, // beyond the gateway TUN
        {"fd00:f::1", ClientRoute::Forward},
        {"fe80::2", ClientRoute::NotGlobal}, // link-local, not the router's
        {"fe80::1:0:0:1", ClientRoute::NotGlobal},
        {"febf::1", ClientRoute::NotGlobal}, // still fe80::/10
        {"fec0::1", ClientRoute::NotGlobal}, // site-local
        {"ff02::1", ClientRoute::NotGlobal}, // multicast, any scope
        {"ff02::2", ClientRoute::NotGlobal},
        {"ff0e::1", ClientRoute::NotGlobal},
        {"::1", ClientRoute::NotGlobal}, // loopback
        {"::", ClientRoute::NotGlobal},  // unspecified
        {"::ffff:198.18.0.1", ClientRoute::NotGlobal},
        {"::2", ClientRoute::Forward},     // not loopback
        {"fe00::1", ClientRoute::Forward}, // outside fe80::/10
    };
    for (const Case& c : cases) {
        auto dst = Ipv6Addr::parse(c.dst);
        assert_true(dst.has_value());
        if (route_from_client(*dst, router) != c.want) {
            print_error("destination %s: got %d, want %d\n", c.dst,
                        static_cast<int>(route_from_client(*dst, router)),
                        static_cast<int>(c.want));
            fail();
        }
    }
}

void test_ipv4_routes(void**) {
    using enftun::proto::Ipv4Addr;
    const Ipv4Addr self{198, 18, 0, 5};
    const Ipv4Addr other{198, 18, 0, 6};
    const std::optional<Ipv4Addr> bound = self;
    const std::vector<enftun::proto::Ipv4Prefix> on = {{{198, 18, 0, 0}, 24},
                                                       {{198, 18, 7, 0}, 31}};
    // IPv4 off: whatever the addresses.
    assert_true(route_ipv4_from_client(self, other, bound, {}) == Ipv4Route::Off);
    // Another client, or beyond the gateway TUN.
    assert_true(route_ipv4_from_client(self, other, bound, on) == Ipv4Route::Forward);
    assert_true(route_ipv4_from_client(self, Ipv4Addr{198, 19, 1, 1}, bound, on) ==
                Ipv4Route::Forward);
    // Another source, or a session whose certificate has no IPv4.
    assert_true(route_ipv4_from_client(other, self, bound, on) == Ipv4Route::Spoofed);
    assert_true(route_ipv4_from_client(self, other, std::nullopt, on) == Ipv4Route::Spoofed);
    // Destinations no host owns (checked after the source).
    const Ipv4Addr not_global[] = {{127, 0, 0, 1},      {0, 1, 2, 3},   {169, 254, 0, 1},
                                   {224, 0, 0, 251},    {239, 1, 1, 1}, {240, 0, 0, 1},
                                   {255, 255, 255, 255}};
    for (const Ipv4Addr& dst : not_global) {
        assert_true(route_ipv4_from_client(self, dst, bound, on) == Ipv4Route::NotGlobal);
    }
    assert_true(route_ipv4_from_client(other, Ipv4Addr{127, 0, 0, 1}, bound, on) ==
                Ipv4Route::Spoofed);
    // The clients' prefixes are no broadcast domain: their network and
    // broadcast addresses go nowhere; a /31 has none (RFC 3021).
    for (const Ipv4Addr& dst : {Ipv4Addr{198, 18, 0, 255}, Ipv4Addr{198, 18, 0, 0}}) {
        assert_true(route_ipv4_from_client(self, dst, bound, on) == Ipv4Route::NotGlobal);
    }
    for (const Ipv4Addr& dst : {Ipv4Addr{198, 18, 7, 0}, Ipv4Addr{198, 18, 7, 1},
                                Ipv4Addr{198, 18, 1, 255}, Ipv4Addr{198, 18, 0, 254}}) {
        assert_true(route_ipv4_from_client(self, dst, bound, on) == Ipv4Route::Forward);
    }
}

void test_subnet_edge(void**) {
    using enftun::proto::is_subnet_edge;
    const enftun::proto::Ipv4Prefix p{{198, 18, 128, 0}, 17};
    assert_true(is_subnet_edge(p, {198, 18, 128, 0}));
    assert_true(is_subnet_edge(p, {198, 18, 255, 255}));
    assert_false(is_subnet_edge(p, {198, 18, 128, 1}));
    assert_false(is_subnet_edge(p, {198, 18, 255, 254}));
    assert_false(is_subnet_edge(p, {198, 18, 127, 255})); // outside
    assert_true(is_subnet_edge({{198, 18, 0, 4}, 30}, {198, 18, 0, 7}));
    assert_false(is_subnet_edge({{198, 18, 0, 4}, 31}, {198, 18, 0, 4}));
    assert_false(is_subnet_edge({{198, 18, 0, 4}, 32}, {198, 18, 0, 4}));
    assert_true(is_subnet_edge({{0, 0, 0, 0}, 0}, {255, 255, 255, 255}));
}

void test_ipv4_prefix(void**) {
    using enftun::proto::in_prefix;
    const enftun::proto::Ipv4Prefix p{{198, 18, 128, 0}, 17};
    assert_true(in_prefix(p, {198, 18, 128, 1}));
    assert_true(in_prefix(p, {198, 18, 255, 255}));
    assert_false(in_prefix(p, {198, 18, 127, 255}));
    assert_false(in_prefix(p, {198, 19, 128, 1}));
    assert_true(in_prefix({{0, 0, 0, 0}, 0}, {1, 2, 3, 4}));
    assert_true(in_prefix({{198, 18, 0, 5}, 32}, {198, 18, 0, 5}));
    assert_false(in_prefix({{198, 18, 0, 5}, 32}, {198, 18, 0, 4}));
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_ipv4_routes),
        cmocka_unit_test(test_subnet_edge),
        cmocka_unit_test(test_ipv4_prefix),
    };
    return cmocka_run_group_tests_name("client_route", tests, nullptr, nullptr);
}
