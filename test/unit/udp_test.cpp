// Unit tests for proto/udp: parsing kernel and dhcpcd datagrams and damaged
// copies, and Udp6Builder checked byte for byte against the kernel.
#include "test.hpp"

#include <array>
#include <cstring>
#include <vector>

#include "enftun/proto/udp.hpp"
#include "packet_fixups.hpp"
#include "packet_vectors.hpp"
#include "proto_helpers.hpp"
#include "routercard_vectors.hpp"

using enftun::Bytes;
using enftun::Errc;
using enftun::MutBytes;
using namespace enftun::proto;

namespace {

std::vector<std::uint8_t> g_pkt;
std::vector<std::uint8_t> g_want;
std::array<std::uint8_t, 70000> g_out;

using test_proto::assert_built;
using test_proto::parse_valid;

// Parses g_pkt as IPv6 then UDP and returns the UDP error code.
Errc udp_errc() {
    return test_proto::upper_errc(g_pkt, parse_udp);
}

void test_parse_kernel_datagram(void**) {
    g_pkt = hex(vec::kUdpHello);
    const auto [ip, udp] = parse_valid(g_pkt, parse_udp);
    assert_int_equal(udp.src_port(), 5353);
    assert_int_equal(udp.dst_port(), 53);
    assert_int_equal(udp.payload().size(), 5);
    assert_memory_equal(udp.payload().data(), "hello", 5);
}

void test_parse_dhcpcd_datagram(void**) {
    g_pkt = hex(rcvec::kDhcpcdSolicit);
    const auto [ip, udp] = parse_valid(g_pkt, parse_udp);
    assert_int_equal(udp.src_port(), 546);
    assert_int_equal(udp.dst_port(), 547);
    assert_int_equal(udp.payload().size(), g_pkt.size() - kIpv6HeaderLen - kUdpHeaderLen);
}

void test_parse_udp_errors(void**) {
    static const struct {
        const char* name;
        const char* pkt;
        int keep;          // truncate the datagram to this many bytes and fix lengths (-1: no)
        int udp_len_delta; // add to the UDP length field (0: no)
        bool zero_csum;    // set the checksum field to 0
        std::size_t flip;  // flip a bit in packet byte (0: none)
        Errc want;
    } cases[] = {
        {"not udp", vec::kEchoOdd, -1, 0, false, 0, Errc::Unsupported},
        {"7-byte datagram", vec::kUdpHello, 7, 0, false, 0, Errc::Truncated},
        {"empty payload", vec::kUdpHello, 0, 0, false, 0, Errc::Truncated},
        {"udp length one short", vec::kUdpHello, -1, -1, false, 0, Errc::Malformed},
        {"udp length one long", vec::kUdpHello, -1, 1, false, 0, Errc::Malformed},
        {"checksum zero", vec::kUdpHello, -1, 0, true, 0, Errc::Malformed},
        {"payload bit flipped", vec::kUdpHello, -1, 0, false, 50, Errc::Malformed},
        {"port bit flipped", vec::kUdpHello, -1, 0, false, 41, Errc::Malformed},
        {"source bit flipped", vec::kUdpHello, -1, 0, false, 23, Errc::Malformed},
        {"dhcpcd bit flipped", rcvec::kDhcpcdSolicit, -1, 0, false, 100, Errc::Malformed},
    };
    for (const auto& c : cases) {
        g_pkt = hex(c.pkt);
        if (c.keep >= 0) {
            g_pkt.resize(kIpv6HeaderLen + static_cast<std::size_t>(c.keep));
            fixup::payload_length(g_pkt);
        }
        if (c.udp_len_delta != 0) {
            const std::size_t off = kIpv6HeaderLen + kUdpLengthOffset;
            enftun::store_be16(
                g_pkt, off,
                static_cast<std::uint16_t>(enftun::load_be16(g_pkt, off) + c.udp_len_delta));
            fixup::upper_checksum(g_pkt, kUdpChecksumOffset); // only the length is wrong
        }
        if (c.zero_csum) {
            g_pkt[kIpv6HeaderLen + kUdpChecksumOffset] = 0;
            g_pkt[kIpv6HeaderLen + kUdpChecksumOffset + 1] = 0;
        }
        if (c.flip != 0) {
            g_pkt[c.flip] ^= 0x01;
        }
        test_proto::expect_case_errc(c.name, udp_errc(), c.want);
    }
}

// Udp6Builder must reproduce the kernel's datagram (flow label 0 there).
void test_build_matches_kernel(void**) {
    g_want = hex(vec::kUdpHello);
    const UdpEndpoints ep{*Ipv6Addr::parse("fd00:1::5"), *Ipv6Addr::parse("fd00:1::9"), 5353, 53};
    Udp6Builder b(g_out, ep, 64);
    const std::uint8_t hello[] = {'h', 'e', 'l', 'l', 'o'};
    b.writer().put_bytes(hello);
    auto n = b.finish();
    assert_built(n, g_out, g_want);
}

// RFC 768: a computed checksum of 0 goes on the wire as 0xffff. Find a
// payload word that makes the sum come out 0, then check the builder.
void test_build_zero_checksum_sent_as_ffff(void**) {
    const UdpEndpoints ep{*Ipv6Addr::parse("fe80::1"), *Ipv6Addr::parse("fe80::2"), 547, 546};
    std::array<std::uint8_t, 2> word{};
    Udp6Builder probe(g_out, ep, 255);
    probe.writer().put_bytes(word);
    assert_true(probe.finish().has_value());
    const std::uint16_t c0 = enftun::load_be16(g_out, kIpv6HeaderLen + kUdpChecksumOffset);
    // With the payload word equal to c0 the one's-complement sum is 0xffff.
    enftun::store_be16(word, 0, c0);
    Udp6Builder b(g_out, ep, 255);
    b.writer().put_bytes(word);
    auto n = b.finish();
    assert_true(n.has_value());
    assert_int_equal(enftun::load_be16(g_out, kIpv6HeaderLen + kUdpChecksumOffset), 0xffff);
    g_pkt.assign(g_out.begin(), g_out.begin() + static_cast<std::ptrdiff_t>(*n));
    assert_errc(udp_errc(), Errc::Ok);
}

void test_build_no_space(void**) {
    const UdpEndpoints ep{*Ipv6Addr::parse("fe80::1"), *Ipv6Addr::parse("fe80::2"), 547, 546};
    for (std::size_t room : {std::size_t{0}, std::size_t{47}, std::size_t{51}}) {
        Udp6Builder b(MutBytes(g_out).first(room), ep, 255);
        b.writer().put_be32(0x01020304); // 48 + 4 bytes in all
        auto n = b.finish();
        assert_false(n.has_value());
        assert_errc(n.error().code, Errc::NoSpace);
    }
}

void test_build_too_long(void**) {
    const UdpEndpoints ep{*Ipv6Addr::parse("fe80::1"), *Ipv6Addr::parse("fe80::2"), 547, 546};
    Udp6Builder b(g_out, ep, 255);
    b.writer().put_zeros(kIpv6MaxPayload - kUdpHeaderLen + 1);
    auto n = b.finish();
    assert_false(n.has_value());
    assert_errc(n.error().code, Errc::NoSpace);
}

int teardown(void**) {
    std::vector<std::uint8_t>().swap(g_pkt);
    std::vector<std::uint8_t>().swap(g_want);
    return 0;
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_kernel_datagram),
        cmocka_unit_test(test_parse_dhcpcd_datagram),
        cmocka_unit_test(test_parse_udp_errors),
        cmocka_unit_test(test_build_matches_kernel),
        cmocka_unit_test(test_build_zero_checksum_sent_as_ffff),
        cmocka_unit_test(test_build_no_space),
        cmocka_unit_test(test_build_too_long),
    };
    return cmocka_run_group_tests_name("udp", tests, nullptr, teardown);
}
