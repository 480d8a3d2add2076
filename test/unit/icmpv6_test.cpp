// Unit tests for proto/icmpv6: parsing kernel-generated messages and damaged
// copies, and the echo builders checked byte for byte against the kernel.
#include "test.hpp"

#include <array>
#include <vector>

#include "enftun/proto/icmpv6.hpp"
#include "enftun/proto/ipv6.hpp"
#include "packet_fixups.hpp"
#include "packet_vectors.hpp"
#include "proto_helpers.hpp"

using enftun::Bytes;
using enftun::Errc;
using enftun::MutBytes;
using namespace enftun::proto;

namespace {

// Group-owned storage so a failed assert (longjmp) leaks nothing.
std::vector<std::uint8_t> g_pkt;
std::vector<std::uint8_t> g_want;
std::array<std::uint8_t, 70000> g_out;

const Ipv6Addr kClient = *Ipv6Addr::parse("fd00:1::5");
const Ipv6Addr kPeer = *Ipv6Addr::parse("fd00:1::9");

using test_proto::assert_built;
using test_proto::parse_valid;

// Parses g_pkt as IPv6 then ICMPv6 and returns the ICMPv6 error code.
Errc icmp_errc() {
    return test_proto::upper_errc(g_pkt, parse_icmpv6);
}

void test_parse_icmpv6_table(void**) {
    static const struct {
        const char* name;
        const char* pkt;
        std::size_t keep;      // truncate the ICMPv6 message to this many bytes (0: keep all)
        std::size_t flip;      // flip a bit in packet byte (0: none)
        std::uint8_t set_type; // overwrite the type (0: keep)
        Errc want;
    } cases[] = {
        {"echo odd", vec::kEchoOdd, 0, 0, 0, Errc::Ok},
        {"echo empty", vec::kEchoEmpty, 0, 0, 0, Errc::Ok},
        {"echo 16", vec::kEcho16, 0, 0, 0, Errc::Ok},
        {"echo reply", vec::kEchoReplyFromKernel, 0, 0, 0, Errc::Ok},
        {"router solicitation", vec::kRouterSolicitation, 0, 0, 0, Errc::Ok},
        {"4-byte message", vec::kIcmpv6Minimal, 0, 0, 0, Errc::Ok},
        {"udp", vec::kUdpHello, 0, 0, 0, Errc::Unsupported},
        {"3-byte message", vec::kEchoOdd, 3, 0, 0, Errc::Truncated},
        {"echo of 7 bytes", vec::kEchoOdd, 7, 0, 0, Errc::Truncated},
        {"reply of 4 bytes", vec::kEchoReplyFromKernel, 4, 0, 0, Errc::Truncated},
        {"echo data bit flipped", vec::kEchoOdd, 0, 50, 0, Errc::Malformed},
        {"odd last byte flipped", vec::kEchoOdd, 0, 58, 0, Errc::Malformed},
        {"checksum bit flipped", vec::kEchoOdd, 0, 43, 0, Errc::Malformed},
        {"source bit flipped", vec::kEchoOdd, 0, 23, 0, Errc::Malformed},
        {"type changed", vec::kEchoOdd, 0, 0, kIcmpv6EchoReply, Errc::Malformed},
        {"one byte dropped", vec::kEchoOdd, 18, 0, 0, Errc::Malformed},
    };
    for (const auto& c : cases) {
        g_pkt = hex(c.pkt);
        if (c.keep != 0) {
            g_pkt.resize(kIpv6HeaderLen + c.keep);
            fixup::payload_length(g_pkt);
        }
        if (c.flip != 0) {
            g_pkt[c.flip] ^= 0x01;
        }
        if (c.set_type != 0) {
            g_pkt[kIpv6HeaderLen] = c.set_type;
        }
        test_proto::expect_case_errc(c.name, icmp_errc(), c.want);
    }
}

// Next header 58 with an empty payload: shorter than the ICMPv6 header.
void test_parse_icmpv6_empty_payload(void**) {
    g_pkt = hex(vec::kEchoEmpty);
    g_pkt.resize(kIpv6HeaderLen);
    fixup::payload_length(g_pkt); // 0, which parse_ipv6 accepts with nothing after
    assert_errc(icmp_errc(), Errc::Truncated);
}

void test_echo_fields(void**) {
    g_pkt = hex(vec::kEchoOdd);
    const auto [ip, icmp] = parse_valid(g_pkt, parse_icmpv6);
    assert_int_equal(icmp.type(), kIcmpv6EchoRequest);
    assert_int_equal(icmp.code(), 0);
    assert_int_equal(icmp.checksum(), 0x5985);
    assert_true(icmp.is_echo());
    assert_int_equal(icmp.echo_id(), 0x0f65);
    assert_int_equal(icmp.echo_seq(), 1);
    static const auto data = hex("41424344 00000000 432e55");
    assert_int_equal(icmp.echo_data().size(), data.size());
    assert_memory_equal(icmp.echo_data().data(), data.data(), data.size());
    assert_int_equal(icmp.message().size(), 19);
    assert_int_equal(icmp.body().size(), 15);
    assert_ptr_equal(icmp.body().data(), g_pkt.data() + 44);
}

void test_non_echo_fields(void**) {
    g_pkt = hex(vec::kRouterSolicitation);
    const auto [ip, icmp] = parse_valid(g_pkt, parse_icmpv6);
    assert_int_equal(icmp.type(), kIcmpv6RouterSolicitation);
    assert_false(icmp.is_echo());
    assert_int_equal(icmp.body().size(), 4);
}

// build_echo_request reproduces ping's packets (flow label 0).
void test_build_echo_request_matches_kernel(void**) {
    static const struct {
        const char* want;
        std::uint16_t id;
        const char* data;
    } cases[] = {
        {vec::kEchoOddNoFlow, 0x0f65, "41424344 00000000 432e55"},
        {vec::kEchoEmpty, 0x104a, ""},
        {vec::kEcho16, 0x104c, "8b67026b 00000000 3ec40900 00000000"},
    };
    for (const auto& c : cases) {
        g_want = hex(c.want);
        g_pkt = hex(c.data);
        auto n = build_echo_request(kClient, kPeer, c.id, 1, g_pkt, g_out);
        assert_built(n, g_out, g_want);
    }
}

void test_build_echo_request_no_space(void**) {
    static const std::uint8_t data[3] = {1, 2, 3};
    const std::size_t need = kIpv6HeaderLen + kIcmpv6EchoHeaderLen + sizeof data;
    for (std::size_t room : {std::size_t{0}, std::size_t{39}, std::size_t{47}, need - 1}) {
        auto n = build_echo_request(kClient, kPeer, 1, 1, data, MutBytes(g_out).first(room));
        assert_false(n.has_value());
        assert_errc(n.error().code, Errc::NoSpace);
    }
    auto n = build_echo_request(kClient, kPeer, 1, 1, data, MutBytes(g_out).first(need));
    assert_true(n.has_value());
    assert_int_equal(*n, need);
}

// A payload of 65536 bytes would need a jumbogram; refuse even with room.
void test_build_echo_request_too_long(void**) {
    g_pkt.assign(kIpv6MaxPayload - kIcmpv6EchoHeaderLen + 1, 0xab);
    auto n = build_echo_request(kClient, kPeer, 1, 1, g_pkt, g_out);
    assert_false(n.has_value());
    assert_errc(n.error().code, Errc::NoSpace);
    g_pkt.pop_back(); // exactly 65535: fine, and it round-trips
    auto m = build_echo_request(kClient, kPeer, 1, 1, g_pkt, g_out);
    assert_true(m.has_value());
    parse_valid(Bytes(g_out).first(*m), parse_icmpv6); // and it parses
}

// Our reply to a request equals the Linux kernel's reply to it.
void test_build_echo_reply_matches_kernel(void**) {
    g_pkt = hex(vec::kEchoToSelf);
    g_want = hex(vec::kEchoReplyFromKernel);
    const auto [ip, icmp] = parse_valid(g_pkt, parse_icmpv6);
    auto n = build_echo_reply(icmp, ip, kClient, g_out);
    assert_built(n, g_out, g_want);
}

// The reply may be built over the request itself.
void test_build_echo_reply_in_place(void**) {
    g_pkt = hex(vec::kEchoToSelf);
    g_want = hex(vec::kEchoReplyFromKernel);
    const auto [ip, icmp] = parse_valid(g_pkt, parse_icmpv6);
    auto n = build_echo_reply(icmp, ip, kClient, g_pkt);
    assert_built(n, g_pkt, g_want);
}

void test_build_echo_reply_rejects_non_request(void**) {
    static const char* const not_requests[] = {vec::kEchoReplyFromKernel, vec::kRouterSolicitation,
                                               vec::kIcmpv6Minimal};
    for (const char* p : not_requests) {
        g_pkt = hex(p);
        const auto [ip, icmp] = parse_valid(g_pkt, parse_icmpv6);
        auto n = build_echo_reply(icmp, ip, kClient, g_out);
        assert_false(n.has_value());
        assert_errc(n.error().code, Errc::Unsupported);
    }
}

void test_build_echo_reply_no_space(void**) {
    g_pkt = hex(vec::kEchoToSelf);
    const auto [ip, icmp] = parse_valid(g_pkt, parse_icmpv6);
    auto n = build_echo_reply(icmp, ip, kClient, MutBytes(g_out).first(g_pkt.size() - 1));
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
        cmocka_unit_test(test_parse_icmpv6_table),
        cmocka_unit_test(test_parse_icmpv6_empty_payload),
        cmocka_unit_test(test_echo_fields),
        cmocka_unit_test(test_non_echo_fields),
        cmocka_unit_test(test_build_echo_request_matches_kernel),
        cmocka_unit_test(test_build_echo_request_no_space),
        cmocka_unit_test(test_build_echo_request_too_long),
        cmocka_unit_test(test_build_echo_reply_matches_kernel),
        cmocka_unit_test(test_build_echo_reply_in_place),
        cmocka_unit_test(test_build_echo_reply_rejects_non_request),
        cmocka_unit_test(test_build_echo_reply_no_space),
    };
    return cmocka_run_group_tests_name("icmpv6", tests, nullptr, teardown);
}
