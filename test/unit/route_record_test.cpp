// Unit tests for router/route_record: the one-line codec (round trip; any
// other text, a truncated line, a value out of router.tun's ranges is no
// record, so it deletes nothing) and the "ours here" decision against this
// process's real namespace and loopback interface.
#include "enftun/router/route_record.hpp"

#include <net/if.h>

#include <string>

#include "test.hpp"

using enftun::router::format_route_record;
using enftun::router::parse_route_record;
using enftun::router::RouteRecord;

namespace {

RouteRecord sample() {
    RouteRecord r;
    r.boot_id = "5a0e3b52-1d2c-4e5f-8a9b-0c1d2e3f4a5b";
    r.netns_dev = 4;
    r.netns_ino = 4026531840ULL;
    r.ifindex = 7;
    r.ifname = "enfr0";
    r.table = 254;
    r.protocol = 250;
    return r;
}

void test_round_trip(void**) {
    const std::string line = format_route_record(sample());
    assert_string_equal(line.c_str(),
                        "enftun-router routes v1 boot 5a0e3b52-1d2c-4e5f-8a9b-0c1d2e3f4a5b netns "
                        "4:4026531840 dev 7 enfr0 table 254 protocol 250\n");
    auto back = parse_route_record(line);
    assert_true(back.has_value());
    assert_true(*back == sample());
    RouteRecord big = sample();
    big.table = 0x7fffffff;
    big.protocol = 255;
    assert_true(parse_route_record(format_route_record(big)) == big);
}

void test_not_a_record(void**) {
    const std::string good = format_route_record(sample());
    const std::string bad[] = {
        "",
        "\n",
        good.substr(0, good.size() - 1),             // no newline: a truncated write
        good.substr(0, good.size() / 2) + "\n",      // half a line
        good + good,                                 // two lines
        "enftun-router routes v2" + good.substr(23), // another version
        "enftun-router routes v1 boot x netns 4:5 dev 7 enfr0 table 254 protocol 250 extra\n",
        "enftun-router routes v1 boot x netns 4-5 dev 7 enfr0 table 254 protocol 250\n",
        "enftun-router routes v1 boot x netns 4:5 dev 0 enfr0 table 254 protocol 250\n",
        "enftun-router routes v1 boot x netns 4:5 dev 7 enfr0 table 255 protocol 250\n",
        "enftun-router routes v1 boot x netns 4:5 dev 7 enfr0 table 0 protocol 250\n",
        "enftun-router routes v1 boot x netns 4:5 dev 7 enfr0 table 2147483648 protocol 250\n",
        "enftun-router routes v1 boot x netns 4:5 dev 7 enfr0 table 254 protocol 4\n", // static
        "enftun-router routes v1 boot x netns 4:5 dev 7 enfr0 table 254 protocol 256\n",
        "enftun-router routes v1 boot x netns 4:5 dev 7 enfr0 table -1 protocol 250\n",
        "enftun-router routes v1 boot x netns 4:5 dev 7 enfr0 table +254 protocol 250\n",
        "enftun-router routes v1 boot x netns 4:5 dev 7 a-name-longer-than-15 table 254 protocol "
        "250\n",
        "enftun-router routes v1 boot x netns 4:5 dev 7 enfr0 tables 254 protocol 250\n",
    };
    for (const auto& text : bad) {
        if (parse_route_record(text)) {
            fail_msg("taken for a record: %s", text.c_str());
        }
    }
}

// The real loopback of this process's namespace: a record made here is
// ours here; one of another boot, namespace or interface name is not.
void test_ours_here(void**) {
    const unsigned lo = if_nametoindex("lo");
    assert_true(lo != 0);
    auto here = enftun::router::route_record_here(lo, 100, 251);
    assert_true(here.has_value());
    assert_string_equal(here->ifname.c_str(), "lo");
    assert_false(here->boot_id.empty());
    assert_true(parse_route_record(format_route_record(*here)) == *here);
    assert_true(enftun::router::record_is_ours_here(*here));
    RouteRecord other = *here;
    other.boot_id = "00000000-0000-0000-0000-000000000000";
    assert_false(enftun::router::record_is_ours_here(other));
    other = *here;
    ++other.netns_ino;
    assert_false(enftun::router::record_is_ours_here(other));
    other = *here;
    other.ifname = "enfr0";
    assert_false(enftun::router::record_is_ours_here(other));
    other = *here;
    other.ifindex = 0x7ffffff0; // no such interface
    assert_false(enftun::router::record_is_ours_here(other));
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_not_a_record),
        cmocka_unit_test(test_ours_here),
    };
    return cmocka_run_group_tests_name("route_record", tests, nullptr, nullptr);
}
