// Unit tests for framing/frame_v2: version-2 frame headers, GSO metadata,
// and every malformed case of PROTOCOL.md's table (each must be refused
// with its own error before any byte is used); FrameReader and FrameWriter
// in version 2 (a GSO frame straddling reads, round trip).
#include "test.hpp"

#include <cstring>
#include <optional>
#include <vector>

#include "enftun/framing/frame.hpp"
#include "enftun/framing/frame_writer.hpp"

using enftun::Bytes;
using enftun::Errc;
using enftun::MutBytes;
using namespace enftun::framing;

namespace {

constexpr std::size_t kMtu = 1500;

// Group-owned so a failed assert (longjmp) leaks nothing.
std::vector<std::uint8_t> g_pkt;
std::vector<std::uint8_t> g_frame;

// A TCP super-packet: IPv6 (or IPv4) header, 20-byte TCP header (32 with
// options), `payload` bytes of data.
void make_super(int version, std::size_t payload, std::size_t tcp_len = 20) {
    const std::size_t ip = version == 6 ? 40 : 20;
    g_pkt.assign(ip + tcp_len + payload, 0);
    MutBytes p(g_pkt);
    if (version == 6) {
        p[0] = 0x60;
        enftun::store_be16(p, 4, static_cast<std::uint16_t>(tcp_len + payload));
        p[6] = 6;
        p[7] = 64;
        p[8] = 0xfd;
        p[23] = 1;
        p[24] = 0xfd;
        p[39] = 2;
    } else {
        p[0] = 0x45;
        enftun::store_be16(p, 2, static_cast<std::uint16_t>(g_pkt.size()));
        p[6] = 0x40; // DF
        p[8] = 64;
        p[9] = 6;
        p[12] = 198;
        p[13] = 18;
        p[15] = 1;
        p[16] = 198;
        p[17] = 18;
        p[19] = 2;
    }
    p[ip + 12] = static_cast<std::uint8_t>((tcp_len / 4) << 4);
    p[ip + 13] = 0x18; // PSH ACK
    for (std::size_t i = 0; i < payload; ++i) {
        p[ip + tcp_len + i] = static_cast<std::uint8_t>(i);
    }
}

GsoMeta meta_for(int version, std::size_t tcp_len = 20, std::uint16_t mss = 1440) {
    const std::uint16_t ip = version == 6 ? 40 : 20;
    return GsoMeta{version == 6 ? kGsoTypeTcpV6 : kGsoTypeTcpV4,
                   kCsumPartial,
                   static_cast<std::uint16_t>(ip + tcp_len),
                   mss,
                   ip,
                   16};
}

// g_frame = a GSO frame of g_pkt with meta.
void make_gso_frame(const GsoMeta& m) {
    g_frame.assign(kV2HeaderLen + kGsoMetaLen + g_pkt.size(), 0);
    write_v2_header(g_frame, kFrameTypeGso, kGsoMetaLen + g_pkt.size());
    write_gso_meta(MutBytes(g_frame).subspan(kV2HeaderLen), m);
    std::memcpy(g_frame.data() + kV2HeaderLen + kGsoMetaLen, g_pkt.data(), g_pkt.size());
}

void expect_error(const char* what) {
    auto r = parse_frame_v2(g_frame, kMtu);
    assert_false(r.has_value());
    assert_int_equal(static_cast<int>(r.error().code), static_cast<int>(Errc::Malformed));
    assert_string_equal(r.error().what, what);
}

int teardown(void**) {
    g_pkt = {};
    g_frame = {};
    return 0;
}

void test_header_is_type_and_24_bit_length(void**) {
    std::uint8_t h[4] = {};
    write_v2_header(h, kFrameTypeGso, 65585);
    assert_int_equal(h[0], 1);
    assert_int_equal(h[1], 0x01);
    assert_int_equal(h[2], 0x00);
    assert_int_equal(h[3], 0x31);
}

void test_meta_round_trip(void**) {
    const GsoMeta m{kGsoTypeTcpV6 | kGsoTypeEcn, 1, 0x0102, 0x0304, 0x0506, 0x0708};
    std::uint8_t b[kGsoMetaLen] = {};
    write_gso_meta(b, m);
    const std::uint8_t want[] = {0x84, 1, 1, 2, 3, 4, 5, 6, 7, 8};
    assert_memory_equal(b, want, sizeof want);
    const GsoMeta back = read_gso_meta(b);
    assert_int_equal(back.gso_type, m.gso_type);
    assert_int_equal(back.hdr_len, m.hdr_len);
    assert_int_equal(back.gso_size, m.gso_size);
    assert_int_equal(back.csum_start, m.csum_start);
    assert_int_equal(back.csum_offset, m.csum_offset);
}

void test_good_gso_frames_parse(void**) {
    for (int version : {6, 4}) {
        make_super(version, 60000);
        make_gso_frame(meta_for(version));
        auto r = parse_frame_v2(g_frame, kMtu);
        assert_true(r.has_value() && r->has_value());
        assert_int_equal((*r)->consumed, g_frame.size());
        assert_true((*r)->gso.has_value());
        assert_int_equal((*r)->packet.size(), g_pkt.size());
        assert_int_equal((*r)->gso->gso_size, 1440);
    }
    // TCP options count in hdr_len; ECN is allowed on TCP.
    make_super(6, 3000, 32);
    GsoMeta m = meta_for(6, 32, 1428);
    m.gso_type |= kGsoTypeEcn;
    make_gso_frame(m);
    auto r = parse_frame_v2(g_frame, kMtu);
    assert_true(r.has_value() && r->has_value());
}

void test_largest_super_packet_parses(void**) {
    make_super(6, kMaxSuperPacket - 60);
    assert_int_equal(g_pkt.size(), kMaxSuperPacket);
    make_gso_frame(meta_for(6));
    auto r = parse_frame_v2(g_frame, kMtu);
    assert_true(r.has_value() && r->has_value());
}

void test_partial_frames_wait(void**) {
    make_super(6, 5000);
    make_gso_frame(meta_for(6));
    for (std::size_t n : {std::size_t{0}, std::size_t{3}, std::size_t{4}, g_frame.size() - 1}) {
        auto r = parse_frame_v2(Bytes(g_frame).first(n), kMtu);
        assert_true(r.has_value());
        assert_false(r->has_value());
    }
}

void test_plain_packet_frames(void**) {
    make_super(6, 100);
    g_frame.assign(kV2HeaderLen + g_pkt.size(), 0);
    write_v2_header(g_frame, kFrameTypePacket, g_pkt.size());
    std::memcpy(g_frame.data() + kV2HeaderLen, g_pkt.data(), g_pkt.size());
    auto r = parse_frame_v2(g_frame, kMtu);
    assert_true(r.has_value() && r->has_value());
    assert_false((*r)->gso.has_value());
    g_frame[kV2HeaderLen] = 0x50; // not IPv4 or IPv6
    expect_error("frame is not an IP packet");
}

// Every length check fires from the 4 header bytes alone.
void test_header_errors_need_no_body(void**) {
    g_frame = {2, 0, 0, 10};
    expect_error("unknown frame type");
    g_frame = {0, 0, 0, 0};
    expect_error("zero-length frame");
    g_frame = {1, 0, 0, 0};
    expect_error("zero-length frame");
    g_frame = {0, 0, 0x05, 0xdd}; // 1501 > the MTU
    expect_error("frame longer than maximum");
    g_frame = {1, 0x01, 0x00, 0x32}; // 65586 > kMaxV2Body
    expect_error("frame longer than maximum");
    g_frame = {1, 0xff, 0xff, 0xff};
    expect_error("frame longer than maximum");
    g_frame = {1, 0, 0, 10};
    expect_error("GSO frame without a packet");
}

void test_lying_metadata_is_refused(void**) {
    struct Case {
        void (*mutate)(GsoMeta&);
        const char* what;
    };
    const Case cases[] = {
        {[](GsoMeta& m) { m.gso_type = 3; }, "unknown GSO type"},
        {[](GsoMeta& m) { m.gso_type = kGsoTypeUdpL4 | kGsoTypeEcn; }, "unknown GSO type"},
        {[](GsoMeta& m) { m.gso_type = kGsoTypeUdpL4; }, "GSO packet with bad IP header"},
        {[](GsoMeta& m) { m.gso_type = 0; }, "unknown GSO type"},
        {[](GsoMeta& m) { m.csum = 0; }, "bad checksum state"},
        {[](GsoMeta& m) { m.gso_type = kGsoTypeTcpV4; }, "GSO type does not match the IP version"},
        {[](GsoMeta& m) { m.csum_start = 20; }, "GSO checksum offsets disagree with the headers"},
        {[](GsoMeta& m) { m.csum_offset = 6; }, "GSO checksum offsets disagree with the headers"},
        {[](GsoMeta& m) { m.hdr_len = 72; }, "GSO header length disagrees with the headers"},
        {[](GsoMeta& m) { m.hdr_len = 40; }, "GSO header length disagrees with the headers"},
        {[](GsoMeta& m) { m.gso_size = 0; }, "GSO segment size out of range"},
        {[](GsoMeta& m) { m.gso_size = 1441; }, "GSO segment size out of range"},
        {[](GsoMeta& m) { m.gso_size = 65535; }, "GSO segment size out of range"},
    };
    for (const Case& c : cases) {
        make_super(6, 20000);
        GsoMeta m = meta_for(6);
        c.mutate(m);
        make_gso_frame(m);
        expect_error(c.what);
    }
}

void test_lying_packets_are_refused(void**) {
    struct Case {
        int version;
        void (*mutate)(std::vector<std::uint8_t>&);
        const char* what;
    };
    const Case cases[] = {
        // IPv6 payload length says less (or more) than the packet holds.
        {6, [](std::vector<std::uint8_t>& p) { p[5] -= 1; }, "GSO packet with bad IP header"},
        {6, [](std::vector<std::uint8_t>& p) { p[4] += 1; }, "GSO packet with bad IP header"},
        // An extension header, or UDP, in a TCP super-packet.
        {6, [](std::vector<std::uint8_t>& p) { p[6] = 0; }, "GSO packet with bad IP header"},
        {6, [](std::vector<std::uint8_t>& p) { p[6] = 17; }, "GSO packet with bad IP header"},
        // TCP data offset below 5, or past the packet.
        {6, [](std::vector<std::uint8_t>& p) { p[52] = 0x40; },
         "GSO packet with bad transport header"},
        // IPv4: wrong total length, a fragment, options moving the TCP header.
        {4, [](std::vector<std::uint8_t>& p) { p[3] ^= 1; }, "GSO packet with bad IP header"},
        {4, [](std::vector<std::uint8_t>& p) { p[6] = 0x20; }, "GSO packet with bad IP header"},
        {4, [](std::vector<std::uint8_t>& p) { p[7] = 1; }, "GSO packet with bad IP header"},
        {4, [](std::vector<std::uint8_t>& p) { p[0] = 0x46; },
         "GSO checksum offsets disagree with the headers"},
        {4, [](std::vector<std::uint8_t>& p) { p[0] = 0x44; }, "GSO packet with bad IP header"},
    };
    for (const Case& c : cases) {
        make_super(c.version, 20000);
        c.mutate(g_pkt);
        make_gso_frame(meta_for(c.version));
        expect_error(c.what);
    }
    // Headers only: nothing to segment.
    make_super(6, 0);
    make_gso_frame(meta_for(6));
    expect_error("GSO packet without payload");
    // Shorter than its own headers.
    make_super(6, 0);
    g_pkt.resize(50);
    enftun::store_be16(MutBytes(g_pkt), 4, 10);
    make_gso_frame(meta_for(6));
    expect_error("GSO packet with bad transport header");
}

void test_meta_for_builds_what_check_accepts(void**) {
    make_super(6, 9000, 32);
    auto m = gso_meta_for(g_pkt, kGsoTypeTcpV6, 1428, kMtu);
    assert_true(m.has_value());
    assert_int_equal(m->hdr_len, 72);
    assert_int_equal(m->csum_start, 40);
    assert_int_equal(m->csum_offset, 16);
    make_super(4, 9000);
    m = gso_meta_for(g_pkt, kGsoTypeTcpV4, 1460, kMtu);
    assert_true(m.has_value());
    assert_int_equal(m->hdr_len, 40);
    // A segment that would not fit the MTU: the caller splits instead.
    assert_false(gso_meta_for(g_pkt, kGsoTypeTcpV4, 1461, kMtu).has_value());
}

// A UDP super-packet (USO): IPv6 (or IPv4) header, UDP header, `payload`
// bytes of data.
void make_udp_super(int version, std::size_t payload) {
    const std::size_t ip = version == 6 ? 40 : 20;
    make_super(version, payload + 12); // TCP's 20 bytes = UDP's 8 + 12
    g_pkt.resize(ip + 8 + payload);
    MutBytes p(g_pkt);
    if (version == 6) {
        enftun::store_be16(p, 4, static_cast<std::uint16_t>(8 + payload));
        p[6] = 17;
    } else {
        enftun::store_be16(p, 2, static_cast<std::uint16_t>(g_pkt.size()));
        p[9] = 17;
    }
    enftun::store_be16(p, ip, 5000);
    enftun::store_be16(p, ip + 2, 5001);
    enftun::store_be16(p, ip + 4, static_cast<std::uint16_t>(8 + payload));
    enftun::store_be16(p, ip + 6, 0);
}

GsoMeta udp_meta_for(int version, std::uint16_t size = 1200) {
    const std::uint16_t ip = version == 6 ? 40 : 20;
    return GsoMeta{kGsoTypeUdpL4, kCsumPartial, static_cast<std::uint16_t>(ip + 8), size, ip, 6};
}

void test_good_udp_gso_frames_parse(void**) {
    for (int version : {6, 4}) {
        make_udp_super(version, 1200 * 40 + 17);
        make_gso_frame(udp_meta_for(version));
        auto r = parse_frame_v2(g_frame, kMtu);
        assert_true(r.has_value() && r->has_value());
        assert_true((*r)->gso.has_value());
        assert_int_equal((*r)->packet.size(), g_pkt.size());
        assert_int_equal(gso_segments(g_pkt.size(), *(*r)->gso), 41);
    }
    // The most datagrams Linux makes of one super-packet.
    make_udp_super(6, kMaxUdpSegments * 100);
    make_gso_frame(udp_meta_for(6, 100));
    auto r = parse_frame_v2(g_frame, kMtu);
    assert_true(r.has_value() && r->has_value());
}

void test_lying_udp_metadata_is_refused(void**) {
    struct Case {
        void (*mutate)(GsoMeta&);
        const char* what;
    };
    const Case cases[] = {
        {[](GsoMeta& m) { m.csum = 0; }, "bad checksum state"},
        {[](GsoMeta& m) { m.csum_start = 48; }, "GSO checksum offsets disagree with the headers"},
        {[](GsoMeta& m) { m.csum_offset = 16; }, "GSO checksum offsets disagree with the headers"},
        {[](GsoMeta& m) { m.hdr_len = 60; }, "GSO header length disagrees with the headers"},
        {[](GsoMeta& m) { m.hdr_len = 40; }, "GSO header length disagrees with the headers"},
        {[](GsoMeta& m) { m.gso_size = 0; }, "GSO segment size out of range"},
        {[](GsoMeta& m) { m.gso_size = 1453; }, "GSO segment size out of range"},
        {[](GsoMeta& m) { m.gso_size = 65535; }, "GSO segment size out of range"},
        // 20000 bytes in 100-byte datagrams: more than Linux ever makes.
        {[](GsoMeta& m) { m.gso_size = 100; }, "GSO segment size out of range"},
        {[](GsoMeta& m) { m.gso_type = kGsoTypeTcpV6; }, "GSO packet with bad IP header"},
    };
    for (const Case& c : cases) {
        make_udp_super(6, 20000);
        GsoMeta m = udp_meta_for(6);
        c.mutate(m);
        make_gso_frame(m);
        expect_error(c.what);
    }
}

void test_lying_udp_packets_are_refused(void**) {
    struct Case {
        int version;
        void (*mutate)(std::vector<std::uint8_t>&);
        const char* what;
    };
    const Case cases[] = {
        // IP lengths that disagree with the size; TCP (or an extension header).
        {6, [](std::vector<std::uint8_t>& p) { p[5] -= 1; }, "GSO packet with bad IP header"},
        {6, [](std::vector<std::uint8_t>& p) { p[6] = 6; }, "GSO packet with bad IP header"},
        {6, [](std::vector<std::uint8_t>& p) { p[6] = 0; }, "GSO packet with bad IP header"},
        {4, [](std::vector<std::uint8_t>& p) { p[3] ^= 1; }, "GSO packet with bad IP header"},
        {4, [](std::vector<std::uint8_t>& p) { p[7] = 1; }, "GSO packet with bad IP header"},
        {4, [](std::vector<std::uint8_t>& p) { p[0] = 0x46; },
         "GSO checksum offsets disagree with the headers"},
        // Neither IPv4 nor IPv6.
        {6, [](std::vector<std::uint8_t>& p) { p[0] = 0x50; },
         "GSO type does not match the IP version"},
        // UDP length not the packet's transport length, either way.
        {6, [](std::vector<std::uint8_t>& p) { p[45] ^= 1; },
         "GSO packet with bad transport header"},
        {4, [](std::vector<std::uint8_t>& p) { p[24] ^= 0x80; },
         "GSO packet with bad transport header"},
    };
    for (const Case& c : cases) {
        make_udp_super(c.version, 20000);
        c.mutate(g_pkt);
        make_gso_frame(udp_meta_for(c.version));
        expect_error(c.what);
    }
    // Headers only.
    make_udp_super(6, 0);
    make_gso_frame(udp_meta_for(6));
    expect_error("GSO packet without payload");
    // Shorter than a UDP header.
    make_udp_super(6, 0);
    g_pkt.resize(44);
    enftun::store_be16(MutBytes(g_pkt), 4, 4);
    make_gso_frame(udp_meta_for(6));
    expect_error("GSO packet with bad transport header");
}

void test_udp_meta_for_builds_what_check_accepts(void**) {
    for (int version : {6, 4}) {
        make_udp_super(version, 9000);
        auto m = gso_meta_for(g_pkt, kGsoTypeUdpL4, 1200, kMtu);
        assert_true(m.has_value());
        assert_int_equal(m->hdr_len, (version == 6 ? 40 : 20) + 8);
        assert_int_equal(m->csum_offset, 6);
        assert_true(check_gso_packet(g_pkt, *m, kMtu).has_value());
    }
    // A datagram that would not fit the MTU: the caller splits instead.
    make_udp_super(6, 9000);
    assert_false(gso_meta_for(g_pkt, kGsoTypeUdpL4, 1453, kMtu).has_value());
}

// Writer and reader in version 2: a plain packet and a super-packet, the
// stream fed to the reader in small reads.
void test_writer_reader_round_trip(void**) {
    FrameWriter w(256 * 1024);
    w.set_version(2);
    make_super(6, 30000);
    const GsoMeta m = meta_for(6);
    assert_true(w.append_gso_frame(g_pkt, m));
    std::vector<std::uint8_t> small(g_pkt.begin(), g_pkt.begin() + 100);
    enftun::store_be16(MutBytes(small), 4, 60);
    assert_true(w.append_frame(small));
    MutBytes room = w.reserve_gso_frame(g_pkt.size());
    assert_true(room.size() >= g_pkt.size());
    std::memcpy(room.data(), g_pkt.data(), g_pkt.size());
    w.commit_gso_frame(g_pkt.size(), m);
    g_frame.assign(w.pending(w.size()).begin(), w.pending(w.size()).end());

    FrameReader r(kMtu, 16384 + kMaxV2Frame);
    r.set_version(2, 16384 + kMaxV2Frame);
    std::size_t pos = 0;
    int gso = 0;
    int plain = 0;
    while (pos < g_frame.size()) {
        MutBytes into = r.writable();
        const std::size_t n = std::min<std::size_t>({into.size(), 7000, g_frame.size() - pos});
        std::memcpy(into.data(), g_frame.data() + pos, n);
        r.commit(n);
        pos += n;
        for (;;) {
            auto f = r.next_frame();
            assert_true(f.has_value());
            if (!f->has_value()) {
                break;
            }
            if ((*f)->gso) {
                ++gso;
                assert_int_equal((*f)->packet.size(), g_pkt.size());
                assert_memory_equal((*f)->packet.data(), g_pkt.data(), g_pkt.size());
            } else {
                ++plain;
                assert_int_equal((*f)->packet.size(), small.size());
            }
        }
    }
    assert_int_equal(gso, 2);
    assert_int_equal(plain, 1);
    assert_int_equal(r.buffered(), 0);
}

} // namespace

int main() {
    const CMUnitTest tests[] = {
        cmocka_unit_test(test_header_is_type_and_24_bit_length),
        cmocka_unit_test(test_meta_round_trip),
        cmocka_unit_test_teardown(test_good_gso_frames_parse, teardown),
        cmocka_unit_test_teardown(test_largest_super_packet_parses, teardown),
        cmocka_unit_test_teardown(test_partial_frames_wait, teardown),
        cmocka_unit_test_teardown(test_plain_packet_frames, teardown),
        cmocka_unit_test_teardown(test_header_errors_need_no_body, teardown),
        cmocka_unit_test_teardown(test_lying_metadata_is_refused, teardown),
        cmocka_unit_test_teardown(test_lying_packets_are_refused, teardown),
        cmocka_unit_test_teardown(test_meta_for_builds_what_check_accepts, teardown),
        cmocka_unit_test_teardown(test_writer_reader_round_trip, teardown),
        cmocka_unit_test_teardown(test_good_udp_gso_frames_parse, teardown),
        cmocka_unit_test_teardown(test_lying_udp_metadata_is_refused, teardown),
        cmocka_unit_test_teardown(test_lying_udp_packets_are_refused, teardown),
        cmocka_unit_test_teardown(test_udp_meta_for_builds_what_check_accepts, teardown),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
