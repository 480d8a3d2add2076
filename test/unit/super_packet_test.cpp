// Unit tests for link/super_packet: the bound on what a split in user space
// makes (split_budget: every segment of a real segment size, one per
// kSplitPayloadPerSegment payload bytes below it), for_each_segment and
// queue_packet keeping to it and reporting the segments skipped, the bytes
// queue_packet queued (the segments' when split), and a queue that fills
// halfway through a split.
#include "enftun/framing/frame_v2.hpp"
#include "enftun/framing/frame_writer.hpp"
#include "enftun/link/super_packet.hpp"
#include "enftun/proto/ipv6_addr.hpp"

#include <optional>
#include <vector>

#include "ipv6_header_fixture.hpp"
#include "test.hpp"

using enftun::Bytes;
using enftun::framing::FrameWriter;
using enftun::framing::GsoMeta;
using enftun::proto::Ipv6Addr;
using namespace enftun::tunnel;

namespace {

using ByteVec = std::vector<std::uint8_t>;

constexpr std::size_t kHdr = 60; // IPv6 + TCP

const Ipv6Addr kSrc = *Ipv6Addr::parse("fd00:e::8");
const Ipv6Addr kDst = *Ipv6Addr::parse("fd00:e::5");

// Group-owned state: a failed assert longjmps past locals' destructors.
struct State {
    ByteVec pkt;
    ByteVec scratch;
    std::vector<std::size_t> seg_lens;
    std::optional<FrameWriter> writer;
};
std::optional<State> g;

int setup(void**) {
    g.emplace();
    g->scratch.resize(1500);
    return 0;
}

int teardown(void**) {
    g.reset();
    return 0;
}

// A TCP/IPv6 super-packet with `payload` bytes, validated against its
// metadata (gso_size as given) as a version-2 receiver does.
GsoMeta super_packet(std::size_t payload, std::uint16_t gso_size) {
    g->pkt.assign(kHdr + payload, 0);
    auto& p = g->pkt;
    test_ipv6::put_header(p, static_cast<std::uint16_t>(20 + payload), 6, kSrc, kDst);
    p[52] = 5 << 4;
    p[53] = 0x10;
    GsoMeta m{
        enftun::framing::kGsoTypeTcpV6, enftun::framing::kCsumPartial, kHdr, gso_size, 40, 16};
    assert_true(enftun::framing::check_gso_packet(p, m, 1500).has_value());
    return m;
}

void test_budget_keeps_real_segment_sizes(void**) {
    for (std::uint16_t mss : {1440, 536, 64, 32}) {
        GsoMeta m = super_packet(65000, mss);
        assert_int_equal(split_budget(g->pkt.size(), m),
                         enftun::framing::gso_segments(g->pkt.size(), m));
    }
}

void test_budget_bounds_tiny_segments(void**) {
    GsoMeta m = super_packet(65000, 1);
    assert_int_equal(enftun::framing::gso_segments(g->pkt.size(), m), 65000);
    assert_int_equal(split_budget(g->pkt.size(), m), 2032); // 65000 / 32, rounded up
    m = super_packet(100, 31);
    assert_int_equal(split_budget(g->pkt.size(), m), 4); // not fewer than gso_segments' 4
    m = super_packet(1, 1);
    assert_int_equal(split_budget(g->pkt.size(), m), 1);
}

void test_for_each_segment_stops_at_budget(void**) {
    GsoMeta m = super_packet(3000, 1);
    auto split = for_each_segment(g->pkt, m, g->scratch, [](Bytes seg) {
        g->seg_lens.push_back(seg.size());
        return true;
    });
    assert_true(split.complete);
    assert_int_equal(g->seg_lens.size(), 94);
    assert_int_equal(split.skipped, 3000 - 94);
    for (std::size_t len : g->seg_lens) {
        assert_int_equal(len, kHdr + 1);
    }
}

void test_for_each_segment_real_size_whole(void**) {
    GsoMeta m = super_packet(3000, 1000);
    auto split = for_each_segment(g->pkt, m, g->scratch, [](Bytes seg) {
        g->seg_lens.push_back(seg.size());
        return true;
    });
    assert_true(split.complete);
    assert_int_equal(split.skipped, 0);
    assert_int_equal(g->seg_lens.size(), 3);
}

void test_queue_packet_v1_counts_segment_bytes(void**) {
    auto& w = g->writer.emplace(1 << 20);
    GsoMeta m = super_packet(3000, 1000);
    Queued q = queue_packet(w, g->pkt, &m, 1500);
    assert_true(q.complete);
    assert_int_equal(q.skipped, 0);
    assert_int_equal(q.bytes, 3 * (kHdr + 1000)); // three segments, headers each
    assert_int_equal(w.size(), 3 * (2 + kHdr + 1000));
}

void test_queue_packet_v1_tiny_segments_bounded(void**) {
    auto& w = g->writer.emplace(1 << 20);
    GsoMeta m = super_packet(3000, 1);
    Queued q = queue_packet(w, g->pkt, &m, 1500);
    assert_true(q.complete);
    assert_int_equal(q.skipped, 3000 - 94);
    assert_int_equal(q.bytes, 94 * (kHdr + 1));
    assert_int_equal(w.size(), 94 * (2 + kHdr + 1));
}

void test_queue_packet_v2_whole(void**) {
    auto& w = g->writer.emplace(1 << 20);
    w.set_version(2);
    GsoMeta m = super_packet(3000, 1);
    Queued q = queue_packet(w, g->pkt, &m, 1500);
    assert_true(q.complete);
    assert_int_equal(q.skipped, 0); // the peer's kernel or splitter decides
    assert_int_equal(q.bytes, g->pkt.size());
}

void test_queue_packet_fills_halfway(void**) {
    auto& w = g->writer.emplace(65536);
    GsoMeta m = super_packet(65000, 1440);
    Queued q = queue_packet(w, g->pkt, &m, 1500);
    assert_false(q.complete);
    assert_int_equal(q.bytes, 43 * 1500); // each reserve asks for 2 + 1500 bytes
    assert_int_equal(w.size(), 43 * 1502);
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_budget_keeps_real_segment_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget_bounds_tiny_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_for_each_segment_stops_at_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_for_each_segment_real_size_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_packet_v1_counts_segment_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_packet_v1_tiny_segments_bounded, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_queue_packet_v2_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_packet_fills_halfway, setup, teardown),
    };
    return cmocka_run_group_tests_name("super_packet", tests, nullptr, nullptr);
}
