// Unit tests for proto/checksum: the fast RFC 1071 sum against a byte-pair
// reference over random data, chunking, carries, and the IPv6 pseudo-header
// checksum against kernel-generated packets.
#include "test.hpp"

#include <algorithm>
#include <array>

#include "enftun/proto/checksum.hpp"
#include "enftun/proto/ipv6.hpp"
#include "packet_vectors.hpp"

using enftun::Bytes;
using enftun::MutBytes;
using namespace enftun::proto;

namespace {

// Big enough for the largest IPv6 payload plus an offset.
std::array<std::uint8_t, 65535 + 16> g_buf;

// xorshift32: deterministic data so a failure reproduces.
std::uint32_t g_rng = 0x12345678;
std::uint32_t rnd() {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}

void fill_random() {
    for (auto& b : g_buf) {
        b = static_cast<std::uint8_t>(rnd());
    }
}

// RFC 1071 §4.1 written the obvious way: one 16-bit word at a time, an odd
// last byte padded with zero, carries folded at the end.
std::uint16_t reference_checksum(std::uint32_t initial, Bytes d) {
    std::uint64_t sum = initial;
    for (std::size_t i = 0; i < d.size(); i += 2) {
        const unsigned hi = d[i];
        const unsigned lo = i + 1 < d.size() ? d[i + 1] : 0;
        sum += (hi << 8) | lo;
    }
    while ((sum >> 16) != 0) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum & 0xffff);
}

void test_rfc1071_example(void**) {
    // RFC 1071 §3: these bytes sum to 0xddf2; the checksum is its complement.
    static const auto data = hex("00 01 f2 03 f4 f5 f6 f7");
    assert_int_equal(checksum_fold(checksum_add(0, data)), 0x220d);
}

void test_empty_and_zero_data(void**) {
    static const std::array<std::uint8_t, 6> zeros{};
    assert_int_equal(checksum_fold(checksum_add(0, Bytes{})), 0xffff);
    assert_int_equal(checksum_fold(checksum_add(0, zeros)), 0xffff);
}

// Every length 0..300 at every start offset 0..7, then some large lengths.
void test_matches_reference_random(void**) {
    fill_random();
    for (std::size_t len = 0; len <= 300; ++len) {
        for (std::size_t off = 0; off < 8; ++off) {
            const Bytes d = Bytes(g_buf).subspan(off, len);
            assert_int_equal(checksum_fold(checksum_add(0, d)), reference_checksum(0, d));
        }
    }
    for (std::size_t len : {1279u, 1280u, 1499u, 1500u, 9000u, 65534u, 65535u}) {
        const Bytes d = Bytes(g_buf).subspan(len % 7, len);
        assert_int_equal(checksum_fold(checksum_add(0, d)), reference_checksum(0, d));
    }
}

// All-0xff data maximises carries in the 64-bit accumulator.
void test_matches_reference_all_ones(void**) {
    g_buf.fill(0xff);
    for (std::size_t len : {1u, 2u, 7u, 8u, 9u, 64u, 1001u, 65535u}) {
        const Bytes d = Bytes(g_buf).first(len);
        assert_int_equal(checksum_fold(checksum_add(0, d)), reference_checksum(0, d));
        assert_int_equal(checksum_fold(checksum_add(0xffffffffu, d)),
                         reference_checksum(0xffffffffu, d));
    }
}

void test_initial_sum_is_carried(void**) {
    fill_random();
    for (int i = 0; i < 200; ++i) {
        const std::uint32_t initial = rnd();
        const Bytes d = Bytes(g_buf).subspan(rnd() % 8, rnd() % 200);
        assert_int_equal(checksum_fold(checksum_add(initial, d)), reference_checksum(initial, d));
    }
}

// Even-length chunks (the last may be odd) sum like the whole buffer.
void test_even_chunks_sum_like_whole(void**) {
    fill_random();
    for (int i = 0; i < 500; ++i) {
        const std::size_t len = rnd() % 600;
        const Bytes whole = Bytes(g_buf).subspan(rnd() % 8, len);
        std::uint32_t sum = 0;
        std::size_t pos = 0;
        while (pos < len) {
            std::size_t n = 2 * (rnd() % 40);
            if (n == 0 || pos + n >= len) {
                n = len - pos; // last chunk: any length
            }
            sum = checksum_add(sum, whole.subspan(pos, n));
            pos += n;
        }
        assert_int_equal(checksum_fold(sum), reference_checksum(0, whole));
    }
}

// Kernel-generated packets: the pseudo-header checksum over each payload,
// checksum field included, is 0 (RFC 8200 §8.1).
void test_ipv6_checksum_verifies_kernel_packets(void**) {
    static const struct {
        const char* pkt;
        std::uint8_t next_header;
    } cases[] = {
        {vec::kEchoOdd, kProtoIcmpv6},
        {vec::kEchoEmpty, kProtoIcmpv6},
        {vec::kEcho16, kProtoIcmpv6},
        {vec::kRouterSolicitation, kProtoIcmpv6},
        {vec::kEchoReplyFromKernel, kProtoIcmpv6},
        {vec::kUdpHello, kProtoUdp},
    };
    for (const auto& c : cases) {
        static std::vector<std::uint8_t> p;
        p = hex(c.pkt);
        Ipv6Addr src, dst;
        std::copy(p.begin() + 8, p.begin() + 24, src.bytes.begin());
        std::copy(p.begin() + 24, p.begin() + 40, dst.bytes.begin());
        const Bytes upper = Bytes(p).subspan(40);
        assert_int_equal(ipv6_upper_checksum(src, dst, c.next_header, upper), 0);
        // Building: zero the field and recompute; the kernel's value returns.
        const std::size_t field = c.next_header == kProtoUdp ? 46 : 42;
        const std::uint16_t stored = static_cast<std::uint16_t>(p[field] << 8 | p[field + 1]);
        p[field] = p[field + 1] = 0;
        assert_int_equal(ipv6_upper_checksum(src, dst, c.next_header, upper), stored);
        // And a flipped bit is caught.
        p[field] = static_cast<std::uint8_t>(stored >> 8);
        p[field + 1] = static_cast<std::uint8_t>(stored ^ 0x10);
        assert_int_not_equal(ipv6_upper_checksum(src, dst, c.next_header, upper), 0);
    }
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc1071_example),
        cmocka_unit_test(test_empty_and_zero_data),
        cmocka_unit_test(test_matches_reference_random),
        cmocka_unit_test(test_matches_reference_all_ones),
        cmocka_unit_test(test_initial_sum_is_carried),
        cmocka_unit_test(test_even_chunks_sum_like_whole),
        cmocka_unit_test(test_ipv6_checksum_verifies_kernel_packets),
    };
    return cmocka_run_group_tests_name("checksum", tests, nullptr, nullptr);
}
