// Unit tests for proto/ipv6, proto/ipv4 and proto/ip: header validation
// tables over real packets and their damaged variants, view accessors, and
// the IPv6 header builder.
#include "test.hpp"

#include <array>
#include <vector>

#include "enftun/packet/packet_writer.hpp"
#include "enftun/proto/ip.hpp"
#include "enftun/proto/ipv4.hpp"
#include "enftun/proto/ipv6.hpp"
#include "packet_vectors.hpp"

using enftun::Bytes;
using enftun::Errc;
using enftun::MutBytes;
using namespace enftun::proto;

namespace {

// Owned by the group so a failed assert (longjmp) leaks nothing.
std::vector<std::uint8_t> g_pkt;

// Damage applied to a vector before parsing.
enum class Edit { None, DropLast, AddByte, SetByte0, SetLenHi, SetLenLo, Truncate };

struct Case {
    const char* name;
    const char* pkt;
    Edit edit;
    std::size_t arg; // new byte value, or truncated size
    Errc want;       // Errc::Ok for success
};

void apply(Edit edit, std::size_t arg) {
    switch (edit) {
    case Edit::None:
        break;
    case Edit::DropLast:
        g_pkt.pop_back();
        break;
    case Edit::AddByte:
        g_pkt.push_back(0);
        break;
    case Edit::SetByte0:
        g_pkt[0] = static_cast<std::uint8_t>(arg);
        break;
    case Edit::SetLenHi: // IPv6 payload length / IPv4 total length, high byte
        g_pkt[g_pkt[0] >> 4 == 6 ? 4 : 2] = static_cast<std::uint8_t>(arg);
        break;
    case Edit::SetLenLo:
        g_pkt[g_pkt[0] >> 4 == 6 ? 5 : 3] = static_cast<std::uint8_t>(arg);
        break;
    case Edit::Truncate:
        g_pkt.resize(arg);
        break;
    }
}

template <typename Parse>
void run_table(const Case* cases, std::size_t n, Parse parse) {
    for (std::size_t i = 0; i < n; ++i) {
        const Case& c = cases[i];
        g_pkt = hex(c.pkt);
        apply(c.edit, c.arg);
        const Errc got = parse(Bytes(g_pkt));
        if (got != c.want) {
            fail_msg("%s: got errc %d, want %d", c.name, static_cast<int>(got),
                     static_cast<int>(c.want));
        }
    }
}

Errc ipv6_errc(Bytes b) {
    auto r = parse_ipv6(b);
    return r ? Errc::Ok : r.error().code;
}
Errc ipv4_errc(Bytes b) {
    auto r = parse_ipv4(b);
    return r ? Errc::Ok : r.error().code;
}
Errc ip_errc(Bytes b) {
    auto r = check_ip_packet(b);
    return r ? Errc::Ok : r.error().code;
}

// 40-byte IPv6 header with payload length 0 and next header 59 (no next
// header, RFC 8200 §4.7): a legal empty packet.
constexpr const char* kIpv6Empty = "60 00 00 00 00 00 3b 40"
                                   "fd00 0001 0000 0000 0000 0000 0000 0005"
                                   "fd00 0001 0000 0000 0000 0000 0000 0009";

// IPv4 with IHL 6 (one 4-byte option: end-of-options padding), no payload.
constexpr const char* kIpv4WithOption = "46 00 0018 0000 4000 40 3b 0000"
                                        "0a090001 0a090002 00000000";

void test_parse_ipv6_table(void**) {
    static const Case cases[] = {
        {"echo odd", vec::kEchoOdd, Edit::None, 0, Errc::Ok},
        {"echo empty", vec::kEchoEmpty, Edit::None, 0, Errc::Ok},
        {"router solicitation", vec::kRouterSolicitation, Edit::None, 0, Errc::Ok},
        {"udp", vec::kUdpHello, Edit::None, 0, Errc::Ok},
        {"no payload", kIpv6Empty, Edit::None, 0, Errc::Ok},
        {"empty buffer", vec::kEchoOdd, Edit::Truncate, 0, Errc::Truncated},
        {"one byte", vec::kEchoOdd, Edit::Truncate, 1, Errc::Truncated},
        {"39 bytes", vec::kEchoOdd, Edit::Truncate, 39, Errc::Truncated},
        {"version 4", vec::kEchoOdd, Edit::SetByte0, 0x40, Errc::Malformed},
        {"version 7", vec::kEchoOdd, Edit::SetByte0, 0x70, Errc::Malformed},
        {"version 0", vec::kEchoOdd, Edit::SetByte0, 0x00, Errc::Malformed},
        {"last byte missing", vec::kEchoOdd, Edit::DropLast, 0, Errc::Malformed},
        {"trailing byte", vec::kEchoOdd, Edit::AddByte, 0, Errc::Malformed},
        {"header only, plen 19", vec::kEchoOdd, Edit::Truncate, 40, Errc::Malformed},
        {"plen 0xff13", vec::kEchoOdd, Edit::SetLenHi, 0xff, Errc::Malformed},
        {"plen 0x12", vec::kEchoOdd, Edit::SetLenLo, 0x12, Errc::Malformed},
        {"jumbogram (plen 0)", vec::kEchoOdd, Edit::SetLenLo, 0x00, Errc::Unsupported},
        {"ipv4 packet", vec::kIpv4Echo, Edit::None, 0, Errc::Malformed},
    };
    run_table(cases, std::size(cases), ipv6_errc);
}

void test_ipv6_view_fields(void**) {
    g_pkt = hex(vec::kEchoOdd);
    auto ip = parse_ipv6(g_pkt);
    assert_true(ip.has_value());
    assert_int_equal(ip->payload_length(), 19);
    assert_int_equal(ip->next_header(), kProtoIcmpv6);
    assert_int_equal(ip->hop_limit(), 64);
    assert_true(ip->src() == *Ipv6Addr::parse("fd00:1::5"));
    assert_true(ip->dst() == *Ipv6Addr::parse("fd00:1::9"));
    assert_int_equal(ip->payload().size(), 19);
    assert_ptr_equal(ip->payload().data(), g_pkt.data() + 40);
    assert_ptr_equal(ip->packet().data(), g_pkt.data());
    assert_int_equal(ip->packet().size(), g_pkt.size());

    g_pkt = hex(vec::kRouterSolicitation);
    auto rs = parse_ipv6(g_pkt);
    assert_true(rs.has_value());
    assert_int_equal(rs->hop_limit(), 255);
    assert_true(rs->src() == *Ipv6Addr::parse("fe80::929a:2179:1393:b3a"));
    assert_true(rs->dst() == *Ipv6Addr::parse("ff02::2"));
}

void test_parse_ipv4_table(void**) {
    static const Case cases[] = {
        {"echo", vec::kIpv4Echo, Edit::None, 0, Errc::Ok},
        {"with option", kIpv4WithOption, Edit::None, 0, Errc::Ok},
        {"empty buffer", vec::kIpv4Echo, Edit::Truncate, 0, Errc::Truncated},
        {"19 bytes", vec::kIpv4Echo, Edit::Truncate, 19, Errc::Truncated},
        {"version 6", vec::kIpv4Echo, Edit::SetByte0, 0x65, Errc::Malformed},
        {"IHL 4", vec::kIpv4Echo, Edit::SetByte0, 0x44, Errc::Malformed},
        {"IHL 0", vec::kIpv4Echo, Edit::SetByte0, 0x40, Errc::Malformed},
        {"IHL 15 > total 40", vec::kIpv4Echo, Edit::SetByte0, 0x4f, Errc::Malformed},
        {"IHL 10 = total 40", vec::kIpv4Echo, Edit::SetByte0, 0x4a, Errc::Ok},
        {"last byte missing", vec::kIpv4Echo, Edit::DropLast, 0, Errc::Malformed},
        {"trailing byte", vec::kIpv4Echo, Edit::AddByte, 0, Errc::Malformed},
        {"total 0x0127", vec::kIpv4Echo, Edit::SetLenHi, 0x01, Errc::Malformed},
        {"total 19", vec::kIpv4Echo, Edit::SetLenLo, 19, Errc::Malformed},
        {"ipv6 packet", vec::kEchoOdd, Edit::None, 0, Errc::Malformed},
    };
    run_table(cases, std::size(cases), ipv4_errc);
}

void test_ipv4_view_fields(void**) {
    g_pkt = hex(vec::kIpv4Echo);
    auto ip = parse_ipv4(g_pkt);
    assert_true(ip.has_value());
    assert_int_equal(ip->total_length(), 40);
    assert_int_equal(ip->header_length(), 20);
    assert_int_equal(ip->protocol(), 1); // ICMP
    assert_true((ip->src() == Ipv4Addr{10, 9, 0, 1}));
    assert_true((ip->dst() == Ipv4Addr{10, 9, 0, 2}));
    assert_int_equal(ip->packet().size(), 40);

    g_pkt = hex(kIpv4WithOption);
    auto opt = parse_ipv4(g_pkt);
    assert_true(opt.has_value());
    assert_int_equal(opt->header_length(), 24);
}

void test_ip_version(void**) {
    static const std::uint8_t v6[] = {0x60}, v4[] = {0x45}, v15[] = {0xf0};
    assert_int_equal(ip_version(Bytes{}), 0);
    assert_int_equal(ip_version(v6), 6);
    assert_int_equal(ip_version(v4), 4);
    assert_int_equal(ip_version(v15), 15);
}

void test_check_ip_packet_table(void**) {
    static const Case cases[] = {
        {"ipv6", vec::kEchoOdd, Edit::None, 0, Errc::Ok},
        {"ipv4", vec::kIpv4Echo, Edit::None, 0, Errc::Ok},
        {"empty", vec::kEchoOdd, Edit::Truncate, 0, Errc::Truncated},
        {"ipv6 truncated", vec::kEchoOdd, Edit::Truncate, 20, Errc::Truncated},
        {"ipv6 bad length", vec::kEchoOdd, Edit::AddByte, 0, Errc::Malformed},
        {"ipv6 jumbogram", vec::kEchoOdd, Edit::SetLenLo, 0, Errc::Unsupported},
        {"ipv4 bad IHL", vec::kIpv4Echo, Edit::SetByte0, 0x43, Errc::Malformed},
        {"version 5", vec::kEchoOdd, Edit::SetByte0, 0x50, Errc::Malformed},
        {"version 0", vec::kEchoOdd, Edit::SetByte0, 0x00, Errc::Malformed},
    };
    run_table(cases, std::size(cases), ip_errc);
}

// The builder reproduces the kernel's header (flow label aside).
void test_build_ipv6_header(void**) {
    static const auto want = hex(vec::kEchoOddNoFlow);
    std::array<std::uint8_t, 40> out{};
    enftun::packet::PacketWriter w(out);
    build_ipv6_header(w, 19, kProtoIcmpv6, kDefaultHopLimit, *Ipv6Addr::parse("fd00:1::5"),
                      *Ipv6Addr::parse("fd00:1::9"));
    assert_true(w.ok());
    assert_int_equal(w.size(), kIpv6HeaderLen);
    assert_memory_equal(out.data(), want.data(), kIpv6HeaderLen);

    std::array<std::uint8_t, 39> small{};
    enftun::packet::PacketWriter w2(small);
    build_ipv6_header(w2, 0, kProtoNoNext, 1, Ipv6Addr{}, Ipv6Addr{});
    assert_false(w2.finish().has_value());
}

void test_ipv4_routable_unicast(void**) {
    struct AddrCase {
        Ipv4Addr addr;
        bool routable;
    };
    const AddrCase cases[] = {
        {{198, 18, 0, 5}, true},       {{10, 0, 0, 1}, true},    {{1, 0, 0, 0}, true},
        {{223, 255, 255, 255}, true},  {{169, 253, 1, 1}, true}, {{0, 0, 0, 0}, false},
        {{0, 1, 2, 3}, false},         {{127, 0, 0, 1}, false},  {{169, 254, 9, 9}, false},
        {{224, 0, 0, 1}, false},       {{239, 1, 1, 1}, false},  {{240, 0, 0, 1}, false},
        {{255, 255, 255, 255}, false},
    };
    for (const AddrCase& c : cases) {
        assert_int_equal(is_routable_unicast(c.addr), c.routable);
    }
}

int teardown(void**) {
    std::vector<std::uint8_t>().swap(g_pkt);
    return 0;
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ipv6_table),  cmocka_unit_test(test_ipv6_view_fields),
        cmocka_unit_test(test_parse_ipv4_table),  cmocka_unit_test(test_ipv4_view_fields),
        cmocka_unit_test(test_ip_version),        cmocka_unit_test(test_check_ip_packet_table),
        cmocka_unit_test(test_build_ipv6_header), cmocka_unit_test(test_ipv4_routable_unicast),
    };
    return cmocka_run_group_tests_name("ipv6", tests, nullptr, teardown);
}
