// Unit tests for tun/offload: the virtio-net header parser, completion of a
// partial checksum (as the kernel leaves it with TUN_F_CSUM), and the
// software TSO of GsoSplitter: segment sizes, IPv6 payload lengths (IPv4
// total lengths, IDs and header checksums), TCP
// sequence numbers, per-segment flags (FIN/PSH last, CWR first), checksums
// that verify, payload bytes in order, and the malformed, unsupported and
// too-small-buffer cases; software USO (GSO_UDP_L4) for IPv6 and IPv4: UDP
// and IP lengths, checksums that verify, a short last datagram, bad headers;
// the offload probe (what a TUN took, and what may then be written whole).
#include "enftun/proto/checksum.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/tun/offload.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "ipv6_header_fixture.hpp"
#include "test.hpp"

using enftun::Bytes;
using enftun::Errc;
using enftun::MutBytes;
using enftun::proto::Ipv6Addr;
using namespace enftun::tun;

namespace {

using ByteVec = std::vector<std::uint8_t>;

constexpr std::size_t kPayload = 3000;
constexpr std::uint16_t kMss = 1000;
constexpr std::uint32_t kSeq = 0xfffffc00; // wraps inside the second segment

const Ipv6Addr kSrc = *Ipv6Addr::parse("fd00:e::5");
const Ipv6Addr kDst = *Ipv6Addr::parse("fd00:f::1");

// Group-owned state: a failed assert longjmps past locals' destructors.
struct State {
    ByteVec pkt;
    ByteVec out;
    GsoSplitter split;
};
std::optional<State> g;

int setup(void**) {
    g.emplace();
    g->out.resize(2000);
    return 0;
}

int teardown(void**) {
    g.reset();
    return 0;
}

// tcp_packet: IPv6 + 20-byte TCP header (ACK plus `flags`) + payload
// bytes i % 251, the checksum field left 0.
ByteVec tcp_packet(std::size_t payload, std::uint8_t flags) {
    ByteVec p(40 + 20 + payload, 0);
    test_ipv6::put_header(p, static_cast<std::uint16_t>(20 + payload), 6, kSrc, kDst);
    enftun::store_be16(p, 40, 40000);
    enftun::store_be16(p, 42, 5201);
    enftun::store_be32(p, 44, kSeq);
    p[52] = 5 << 4;
    p[53] = static_cast<std::uint8_t>(0x10 | flags);
    for (std::size_t i = 0; i < payload; ++i) {
        p[60 + i] = static_cast<std::uint8_t>(i % 251);
    }
    return p;
}

VnetHdr gso_hdr() {
    return VnetHdr{kVnetFlagNeedsCsum, kGsoTcpV6, 60, kMss, 40, 16};
}

bool checksum_ok(Bytes seg) {
    return enftun::proto::ipv6_upper_checksum(kSrc, kDst, 6, seg.subspan(40)) == 0;
}

void test_parse_vnet_hdr(void**) {
    const std::uint8_t raw[10] = {1, 4, 60, 0, 0xe8, 0x03, 40, 0, 16, 0};
    auto h = parse_vnet_hdr(Bytes(raw, sizeof raw));
    assert_true(h.has_value());
    assert_int_equal(h->flags, 1);
    assert_int_equal(h->gso_type, kGsoTcpV6);
    assert_int_equal(h->hdr_len, 60);
    assert_int_equal(h->gso_size, 1000); // little-endian
    assert_int_equal(h->csum_start, 40);
    assert_int_equal(h->csum_offset, 16);
    assert_int_equal(parse_vnet_hdr(Bytes(raw, 9)).error().code, Errc::Truncated);
}

void test_complete_checksum(void**) {
    g->pkt = tcp_packet(333, 0x08);
    // What the kernel leaves: the folded pseudo-header sum, not complemented.
    std::uint8_t pseudo[40] = {};
    std::memcpy(pseudo, kSrc.bytes.data(), 16);
    std::memcpy(pseudo + 16, kDst.bytes.data(), 16);
    enftun::store_be32(MutBytes(pseudo, 40), 32, 20 + 333);
    pseudo[39] = 6;
    auto partial = static_cast<std::uint16_t>(
        ~enftun::proto::checksum_fold(enftun::proto::checksum_add(0, Bytes(pseudo, 40))));
    enftun::store_be16(g->pkt, 56, partial);
    assert_true(complete_checksum(g->pkt, 40, 16).has_value());
    assert_true(checksum_ok(g->pkt));
    assert_int_equal(complete_checksum(g->pkt, 40, 400).error().code, Errc::Malformed);
    assert_int_equal(complete_checksum(g->pkt, 4000, 0).error().code, Errc::Malformed);
}

void test_plain_packet_passes_once(void**) {
    g->pkt = tcp_packet(100, 0);
    assert_true(g->split.reset(VnetHdr{}, g->pkt).has_value());
    auto n = g->split.next(g->out);
    assert_true(n.has_value());
    assert_int_equal(*n, g->pkt.size());
    assert_memory_equal(g->out.data(), g->pkt.data(), g->pkt.size());
    assert_true(g->split.done());
}

void test_gso_segments(void**) {
    g->pkt = tcp_packet(kPayload, 0x80 | 0x08 | 0x01); // CWR, PSH, FIN
    assert_true(g->split.reset(gso_hdr(), g->pkt).has_value());
    std::size_t seg = 0;
    std::size_t payload_at = 0;
    while (!g->split.done()) {
        auto n = g->split.next(g->out);
        assert_true(n.has_value());
        const Bytes s(g->out.data(), *n);
        assert_int_equal(*n, 60 + kMss);
        assert_int_equal(enftun::load_be16(s, 4), 20 + kMss);
        assert_int_equal(enftun::load_be32(s, 44), static_cast<std::uint32_t>(kSeq + payload_at));
        const std::uint8_t flags = s[53];
        assert_int_equal((flags & 0x80) != 0, seg == 0);
        assert_int_equal((flags & 0x09) != 0, seg == 2);
        assert_true((flags & 0x10) != 0);
        assert_true(checksum_ok(s));
        assert_memory_equal(s.data() + 60, g->pkt.data() + 60 + payload_at, kMss);
        payload_at += kMss;
        ++seg;
    }
    assert_int_equal(seg, 3);
}

void test_gso_short_last_segment(void**) {
    g->pkt = tcp_packet(2500, 0x08);
    assert_true(g->split.reset(gso_hdr(), g->pkt).has_value());
    std::vector<std::size_t> sizes;
    while (!g->split.done()) {
        auto n = g->split.next(g->out);
        assert_true(n.has_value());
        assert_true(checksum_ok(Bytes(g->out.data(), *n)));
        sizes.push_back(*n);
    }
    assert_int_equal(sizes.size(), 3);
    assert_int_equal(sizes[2], 60 + 500);
}

void test_gso_malformed_and_unsupported(void**) {
    g->pkt = tcp_packet(kPayload, 0);
    VnetHdr h = gso_hdr();
    h.csum_start = 20; // inside the IPv6 header
    assert_int_equal(g->split.reset(h, g->pkt).error().code, Errc::Malformed);
    assert_true(g->split.done());
    h = gso_hdr();
    h.gso_size = 0;
    assert_int_equal(g->split.reset(h, g->pkt).error().code, Errc::Malformed);
    g->pkt[52] = 0xf0; // data offset 60 bytes: past the end
    g->pkt.resize(80);
    assert_int_equal(g->split.reset(gso_hdr(), g->pkt).error().code, Errc::Malformed);
    g->pkt = tcp_packet(kPayload, 0);
    h = gso_hdr();
    h.gso_type = 3; // UDP fragmentation offload: never enabled
    assert_int_equal(g->split.reset(h, g->pkt).error().code, Errc::Unsupported);
}

// IPv4 (GSO_TCPV4, a version-2 frame from an allow_ipv4 client): each
// segment gets its own total length, an ID one higher than the last, a
// header checksum and a TCP checksum (IPv4 pseudo-header) that verify, and
// the payload in order. The input is only read (reset_gso on Bytes).
void test_gso_ipv4_segments(void**) {
    ByteVec& p = g->pkt;
    p.assign(20 + 20 + kPayload, 0);
    p[0] = 0x45;
    enftun::store_be16(p, 2, static_cast<std::uint16_t>(p.size()));
    enftun::store_be16(p, 4, 0xfffe); // the ID wraps at the third segment
    p[6] = 0x40;
    p[8] = 64;
    p[9] = 6;
    const std::uint8_t addrs[8] = {198, 18, 0, 1, 198, 18, 0, 2};
    std::memcpy(p.data() + 12, addrs, 8);
    enftun::store_be32(p, 24, kSeq);
    p[32] = 5 << 4;
    p[33] = 0x18; // ACK PSH
    for (std::size_t i = 0; i < kPayload; ++i) {
        p[40 + i] = static_cast<std::uint8_t>(i % 251);
    }
    const ByteVec before = p;
    const VnetHdr h{kVnetFlagNeedsCsum, kGsoTcpV4, 40, kMss, 20, 16};
    assert_true(g->split.reset_gso(h, Bytes(p)).has_value());
    std::size_t off = 0;
    for (int i = 0; !g->split.done(); ++i) {
        auto n = g->split.next(g->out);
        assert_true(n.has_value());
        const Bytes seg(g->out.data(), *n);
        assert_int_equal(*n, 40 + kMss);
        assert_int_equal(enftun::load_be16(seg, 2), *n);
        assert_int_equal(enftun::load_be16(seg, 4), static_cast<std::uint16_t>(0xfffe + i));
        assert_int_equal(
            enftun::proto::checksum_fold(enftun::proto::checksum_add(0, seg.first(20))), 0);
        std::uint32_t sum = enftun::proto::checksum_add(0, seg.subspan(12, 8));
        sum += 6 + static_cast<std::uint32_t>(*n - 20);
        assert_int_equal(
            enftun::proto::checksum_fold(enftun::proto::checksum_add(sum, seg.subspan(20))), 0);
        assert_int_equal(enftun::load_be32(seg, 24), static_cast<std::uint32_t>(kSeq + off));
        assert_int_equal((seg[33] & 0x08) != 0, g->split.done()); // PSH on the last only
        assert_memory_equal(seg.data() + 40, before.data() + 40 + off, kMss);
        off += kMss;
    }
    assert_int_equal(off, kPayload);
    assert_true(p == before);
}

// udp_packet: IPv6 (or IPv4) + UDP header + payload bytes i % 251, the UDP
// length the whole super-packet's, the checksum field left 0.
ByteVec udp_packet(int version, std::size_t payload) {
    const std::size_t ip = version == 6 ? 40 : 20;
    ByteVec p(ip + 8 + payload, 0);
    if (version == 6) {
        test_ipv6::put_header(p, static_cast<std::uint16_t>(8 + payload), 17, kSrc, kDst);
    } else {
        p[0] = 0x45;
        enftun::store_be16(p, 2, static_cast<std::uint16_t>(p.size()));
        enftun::store_be16(p, 4, 0xfffe);
        p[8] = 64;
        p[9] = 17;
        const std::uint8_t addrs[8] = {198, 18, 0, 1, 198, 18, 0, 2};
        std::memcpy(p.data() + 12, addrs, 8);
    }
    enftun::store_be16(p, ip, 40000);
    enftun::store_be16(p, ip + 2, 5201);
    enftun::store_be16(p, ip + 4, static_cast<std::uint16_t>(8 + payload));
    for (std::size_t i = 0; i < payload; ++i) {
        p[ip + 8 + i] = static_cast<std::uint8_t>(i % 251);
    }
    return p;
}

// Software USO: kPayload + 123 bytes in kMss datagrams (the last short),
// each with its IP length (IPv4: ID + 1 and header checksum), UDP length
// and a UDP checksum that verifies, the payload in order; input untouched.
void test_udp_gso_segments(void**) {
    for (int version : {6, 4}) {
        const std::size_t ip = version == 6 ? 40 : 20;
        g->pkt = udp_packet(version, kPayload + 123);
        const ByteVec before = g->pkt;
        const VnetHdr h{kVnetFlagNeedsCsum,
                        kGsoUdpL4,
                        static_cast<std::uint16_t>(ip + 8),
                        kMss,
                        static_cast<std::uint16_t>(ip),
                        6};
        assert_true(g->split.reset_gso(h, Bytes(g->pkt)).has_value());
        std::size_t off = 0;
        for (int i = 0; !g->split.done(); ++i) {
            auto n = g->split.next(g->out);
            assert_true(n.has_value());
            const Bytes seg(g->out.data(), *n);
            const std::size_t chunk = std::min<std::size_t>(kMss, kPayload + 123 - off);
            assert_int_equal(*n, ip + 8 + chunk);
            assert_int_equal(enftun::load_be16(seg, ip + 4), 8 + chunk);
            assert_int_not_equal(enftun::load_be16(seg, ip + 6), 0);
            if (version == 6) {
                assert_int_equal(enftun::load_be16(seg, 4), 8 + chunk);
                assert_int_equal(
                    enftun::proto::ipv6_upper_checksum(kSrc, kDst, 17, seg.subspan(40)), 0);
            } else {
                assert_int_equal(enftun::load_be16(seg, 2), *n);
                assert_int_equal(enftun::load_be16(seg, 4), static_cast<std::uint16_t>(0xfffe + i));
                assert_int_equal(
                    enftun::proto::checksum_fold(enftun::proto::checksum_add(0, seg.first(20))), 0);
                std::uint32_t sum = enftun::proto::checksum_add(0, seg.subspan(12, 8));
                sum += 17 + static_cast<std::uint32_t>(*n - 20);
                assert_int_equal(
                    enftun::proto::checksum_fold(enftun::proto::checksum_add(sum, seg.subspan(20))),
                    0);
            }
            assert_memory_equal(seg.data() + ip + 8, before.data() + ip + 8 + off, chunk);
            off += chunk;
        }
        assert_int_equal(off, kPayload + 123);
        assert_true(g->pkt == before);
    }
}

void test_udp_gso_malformed(void**) {
    g->pkt = udp_packet(6, kPayload);
    const VnetHdr good{kVnetFlagNeedsCsum, kGsoUdpL4, 48, kMss, 40, 6};
    VnetHdr h = good;
    h.csum_start = 20; // inside the IPv6 header
    assert_int_equal(g->split.reset(h, g->pkt).error().code, Errc::Malformed);
    assert_true(g->split.done());
    h = good;
    h.gso_size = 0;
    assert_int_equal(g->split.reset(h, g->pkt).error().code, Errc::Malformed);
    h = good;
    h.gso_type |= kGsoEcn; // ECN is TCP's
    assert_int_equal(g->split.reset(h, g->pkt).error().code, Errc::Malformed);
    h = good;
    h.csum_start = static_cast<std::uint16_t>(g->pkt.size() - 4); // UDP header past the end
    assert_int_equal(g->split.reset(h, g->pkt).error().code, Errc::Malformed);
    g->pkt[0] = 0x50; // neither IPv4 nor IPv6
    assert_int_equal(g->split.reset(good, g->pkt).error().code, Errc::Malformed);
    g->pkt = udp_packet(4, kPayload);
    h = good;
    h.csum_start = 24; // not the IPv4 header length
    assert_int_equal(g->split.reset(h, g->pkt).error().code, Errc::Malformed);
    g->pkt.resize(10); // shorter than an IPv4 header
    assert_int_equal(g->split.reset(good, g->pkt).error().code, Errc::Malformed);
    g->pkt.clear();
    assert_int_equal(g->split.reset(good, g->pkt).error().code, Errc::Malformed);
}

void test_segment_larger_than_buffer_is_skipped(void**) {
    g->pkt = tcp_packet(kPayload, 0);
    assert_true(g->split.reset(gso_hdr(), g->pkt).has_value());
    assert_int_equal(g->split.next(MutBytes(g->out.data(), 100)).error().code, Errc::NoSpace);
    auto n = g->split.next(g->out); // the second segment still comes
    assert_true(n.has_value());
    assert_int_equal(enftun::load_be32(Bytes(g->out.data(), *n), 44),
                     static_cast<std::uint32_t>(kSeq + kMss));
}

// probe_offloads against a kernel that takes everything, one without USO,
// and one that refuses every offload (the case a real kernel cannot be made
// to produce, hence the fake): what it asked, what it reports, and which
// super-packets may then be written whole.
// Linux 6.2 to 6.9 refuse a TUN write of a UDP super-packet of more than 64
// segments with EINVAL (not reproducible on a newer kernel): such a write
// is split in user space, any other refusal is not.
void test_gso_write_wants_split(void**) {
    using enftun::tun::gso_write_wants_split;
    VnetHdr udp{enftun::tun::kVnetFlagNeedsCsum, enftun::tun::kGsoUdpL4, 48, 1000, 40, 6};
    const std::size_t s64 = 48 + 64 * 1000, s65 = 48 + 64 * 1000 + 1, s128 = 48 + 128 * 1000;
    assert_false(gso_write_wants_split(EINVAL, udp, s64)); // 64 segments: not the limit
    assert_true(gso_write_wants_split(EINVAL, udp, s65));  // 65 (the last one 1 byte)
    assert_true(gso_write_wants_split(EINVAL, udp, s128)); // what a version-2 peer may send
    udp.gso_type |= enftun::tun::kGsoEcn;
    assert_true(gso_write_wants_split(EINVAL, udp, s128));
    assert_false(gso_write_wants_split(EIO, udp, s128)); // another error: dropped
    assert_false(gso_write_wants_split(EAGAIN, udp, s128));
    VnetHdr tcp = udp;
    tcp.gso_type = enftun::tun::kGsoTcpV6; // TCP has no such limit
    assert_false(gso_write_wants_split(EINVAL, tcp, s128));
    VnetHdr zero = udp;
    zero.gso_size = 0; // no segment size: nothing to count
    assert_false(gso_write_wants_split(EINVAL, zero, s128));
    assert_false(gso_write_wants_split(EINVAL, udp, 40)); // shorter than its headers
}

void test_probe_offloads(void**) {
    const unsigned long wanted = kTunFCsum | kTunFTso6 | kTunFTso4;
    std::vector<unsigned long> asked;
    auto all = probe_offloads(wanted, [&](unsigned long f) {
        asked.push_back(f);
        return true;
    });
    assert_true(asked == std::vector<unsigned long>{wanted | kTunFUso4 | kTunFUso6});
    assert_string_equal(all.name(), "tso+uso");
    assert_true(all.takes_gso(kGsoTcpV6) && all.takes_gso(kGsoTcpV4 | kGsoEcn));
    assert_true(all.takes_gso(kGsoUdpL4));
    assert_false(all.takes_gso(kGsoNone));

    asked.clear();
    auto no_uso = probe_offloads(wanted, [&](unsigned long f) {
        asked.push_back(f);
        return (f & kTunFUso4) == 0;
    });
    assert_int_equal(asked.size(), 2);
    assert_int_equal(no_uso.flags, wanted);
    assert_string_equal(no_uso.name(), "tso");
    assert_true(no_uso.takes_gso(kGsoTcpV6) && no_uso.takes_gso(kGsoTcpV4));
    assert_false(no_uso.takes_gso(kGsoUdpL4));

    asked.clear();
    auto refused = probe_offloads(wanted, [&](unsigned long f) {
        asked.push_back(f);
        return f == 0; // clearing always works, as on a real TUN
    });
    // Both sets tried, then the offloads cleared.
    assert_true(asked == (std::vector<unsigned long>{wanted | kTunFUso4 | kTunFUso6, wanted, 0}));
    assert_int_equal(refused.flags, 0);
    assert_string_equal(refused.name(), "none");
    assert_false(refused.takes_gso(kGsoTcpV6));
    assert_false(refused.takes_gso(kGsoTcpV4));
    assert_false(refused.takes_gso(kGsoUdpL4));
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse_vnet_hdr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complete_checksum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_packet_passes_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gso_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gso_short_last_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gso_malformed_and_unsupported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gso_ipv4_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_gso_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_udp_gso_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe_offloads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gso_write_wants_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_segment_larger_than_buffer_is_skipped, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("offload", tests, nullptr, nullptr);
}
