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

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
    };
    return cmocka_run_group_tests_name("client_route", tests, nullptr, nullptr);
}
