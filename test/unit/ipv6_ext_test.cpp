// Unit tests for proto/ipv6_ext: the walk of the extension-header chain to
// the upper layer, over hand-built chains (a Linux host sends none on a TUN)
// and broken ones.
#include "test.hpp"

#include <optional>
#include <string>
#include <vector>

#include "enftun/proto/ipv6.hpp"
#include "enftun/proto/ipv6_ext.hpp"

using namespace enftun::proto;

namespace {

std::vector<std::uint8_t> g_pkt;

// An IPv6 header with next header `nh` from fe80::2 to ff02::2, then `rest`
// (hex); the payload length is set to match.
std::optional<UpperLayer> walk(const char* nh, const char* rest) {
    const std::string text = std::string("6000000000 00") + nh +
                             "ff fe800000000000000000000000000002"
                             " ff020000000000000000000000000002 " +
                             rest;
    g_pkt = hex(text.c_str());
    enftun::store_be16(g_pkt, kIpv6PayloadLengthOffset,
                       static_cast<std::uint16_t>(g_pkt.size() - kIpv6HeaderLen));
    auto ip = parse_ipv6(g_pkt);
    assert_true(ip.has_value());
    return find_upper_layer(*ip);
}

// ICMPv6 RS body after whatever headers.
constexpr const char* kRs = "85000000 00000000";

void test_no_extension_headers(void**) {
    auto u = walk("3a", kRs);
    assert_true(u.has_value());
    assert_int_equal(u->protocol, kProtoIcmpv6);
    assert_int_equal(u->offset, kIpv6HeaderLen);
    assert_false(u->extension_headers);
    assert_false(u->fragment);
    assert_true(u->first_fragment);
}

void test_chain(void**) {
    // Hop-by-Hop (8, PadN) → Destination Options (16) → ICMPv6.
    auto u =
        walk("00", "3c 00 0104 00000000  3a 01 010c 000000000000000000000000 85000000 00000000");
    assert_true(u.has_value());
    assert_int_equal(u->protocol, kProtoIcmpv6);
    assert_int_equal(u->offset, kIpv6HeaderLen + 8 + 16);
    assert_true(u->extension_headers);
    assert_false(u->fragment);
    // Routing (8) → Authentication (length 1: 12 bytes) → UDP.
    u = walk("2b", "33 00 0000 00000000  11 01 0000 00000001 00000001  0000000000000000");
    assert_true(u.has_value());
    assert_int_equal(u->protocol, kProtoUdp);
    assert_int_equal(u->offset, kIpv6HeaderLen + 8 + 12);
}

void test_fragments(void**) {
    // First fragment (offset 0, M set): the ICMPv6 header follows.
    auto u = walk("2c", "3a 00 0001 12345678 85000000 00000000");
    assert_true(u.has_value());
    assert_int_equal(u->protocol, kProtoIcmpv6);
    assert_int_equal(u->offset, kIpv6HeaderLen + 8);
    assert_true(u->fragment);
    assert_true(u->first_fragment);
    // A later one (offset 8 bytes): data, never walked as headers, even if
    // it looks like one.
    u = walk("2c", "00 00 0008 12345678 3a000000 00000000");
    assert_true(u.has_value());
    assert_true(u->fragment);
    assert_false(u->first_fragment);
    assert_int_equal(u->protocol, kProtoHopByHop);
    assert_int_equal(u->offset, kIpv6HeaderLen + 8);
}

void test_opaque_upper_layers(void**) {
    auto u = walk("32", "00000001 00000001"); // ESP: not walked
    assert_true(u.has_value());
    assert_int_equal(u->protocol, 50);
    assert_int_equal(u->offset, kIpv6HeaderLen);
    u = walk("00", "3b 00 0104 00000000"); // Hop-by-Hop → No Next Header
    assert_true(u.has_value());
    assert_int_equal(u->protocol, kProtoNoNext);
    assert_int_equal(u->offset, kIpv6HeaderLen + 8);
}

void test_broken_chains(void**) {
    assert_false(walk("00", "").has_value());                             // no header at all
    assert_false(walk("00", "3a").has_value());                           // one byte
    assert_false(walk("00", "3a 01 0104 00000000").has_value());          // says 16, has 8
    assert_false(walk("2c", "3a 00 0001 1234").has_value());              // fragment cut short
    assert_false(walk("33", "3a 02 0000 00000001 00000001").has_value()); // AH says 16
    // A Hop-by-Hop header that ends exactly at the end: no upper layer
    // bytes, but the walk itself is fine.
    auto u = walk("00", "3a 00 0104 00000000");
    assert_true(u.has_value());
    assert_int_equal(u->offset, g_pkt.size());
}

int group_teardown(void**) {
    std::vector<std::uint8_t>().swap(g_pkt);
    return 0;
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_extension_headers),
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_fragments),
        cmocka_unit_test(test_opaque_upper_layers),
        cmocka_unit_test(test_broken_chains),
    };
    return cmocka_run_group_tests_name("ipv6_ext", tests, nullptr, group_teardown);
}
