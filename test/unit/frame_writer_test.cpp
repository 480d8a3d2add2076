// Unit tests for framing/frame_writer: the in-place header of
// reserve_frame/commit_frame, append_frame copies, pending/consume,
// compaction after a partial consume, refusal of frames that do not fit
// (leaving everything unchanged), exactly-full capacity, lazy storage and
// release, and a round trip of real ICMPv6 echo requests through
// parse_frame and FrameReader.
#include "enftun/framing/frame.hpp"
#include "enftun/framing/frame_writer.hpp"
#include "enftun/proto/icmpv6.hpp"
#include "enftun/proto/ipv6_addr.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <vector>

#include "test.hpp"

using enftun::Bytes;
using enftun::MutBytes;
using enftun::framing::FrameReader;
using enftun::framing::FrameWriter;
using enftun::framing::kFrameHeaderLen;
using enftun::proto::Ipv6Addr;

namespace {

using ByteVec = std::vector<std::uint8_t>;

// Group-owned state: a failed assert longjmps past locals' destructors.
struct State {
    std::optional<FrameWriter> writer;
    std::optional<FrameReader> reader;
    std::vector<ByteVec> pkts; // the packets queued, in order
    ByteVec stream;            // everything pending() handed out, in order
    ByteVec scratch;
};
std::optional<State> g;

const Ipv6Addr kSrc = *Ipv6Addr::parse("fd00:1::5");
const Ipv6Addr kDst = *Ipv6Addr::parse("fd00:1::9");

// A real IPv6 echo request carrying data_len bytes of data (48 + data_len
// bytes in all), sequence number seq.
ByteVec echo(std::size_t data_len, std::uint16_t seq) {
    ByteVec data(data_len);
    for (std::size_t i = 0; i < data_len; ++i) {
        data[i] = static_cast<std::uint8_t>(i * 7 + seq);
    }
    ByteVec out(48 + data_len);
    auto n = enftun::proto::build_echo_request(kSrc, kDst, 0x4242, seq, data, out);
    assert_true(n.has_value());
    assert_int_equal(*n, out.size());
    return out;
}

FrameWriter& make_writer(std::size_t capacity) {
    g->writer.emplace(capacity);
    return *g->writer;
}

// The frame a packet becomes on the wire: 2-byte big-endian length + packet.
ByteVec framed(const ByteVec& pkt) {
    // Sized up front: GCC 12 -O2 warns (-Warray-bounds, a false positive)
    // on inserting into a vector that was built from an initializer list.
    ByteVec out(2 + pkt.size());
    out[0] = static_cast<std::uint8_t>(pkt.size() >> 8);
    out[1] = static_cast<std::uint8_t>(pkt.size());
    std::copy(pkt.begin(), pkt.end(), out.begin() + 2);
    return out;
}

ByteVec pending_copy(const FrameWriter& w) {
    Bytes p = w.pending(w.size());
    return ByteVec(p.begin(), p.end());
}

// Moves up to n pending bytes into g->stream, as a socket write would.
void send_some(FrameWriter& w, std::size_t n) {
    Bytes p = w.pending(n);
    g->stream.insert(g->stream.end(), p.begin(), p.end());
    w.consume(p.size());
}

void test_reserve_commit_writes_header_in_place(void**) {
    FrameWriter& w = make_writer(256);
    ByteVec pkt = echo(11, 1);
    MutBytes room = w.reserve_frame(200);
    assert_int_equal(room.size(), 200);
    std::memcpy(room.data(), pkt.data(), pkt.size());
    w.commit_frame(pkt.size());
    assert_int_equal(w.size(), kFrameHeaderLen + pkt.size());
    Bytes p = w.pending(1000);
    // The payload was not moved: the header went in front of it.
    assert_ptr_equal(p.data() + kFrameHeaderLen, room.data());
    assert_true(std::equal(p.begin(), p.end(), framed(pkt).begin()));
}

void test_header_is_big_endian(void**) {
    FrameWriter& w = make_writer(8192);
    ByteVec pkt = echo(0x1234 - 48, 1); // 0x1234 bytes in all
    assert_true(w.append_frame(pkt));
    Bytes p = w.pending(2);
    assert_int_equal(p.size(), 2);
    assert_int_equal(p[0], 0x12);
    assert_int_equal(p[1], 0x34);
}

void test_reserve_is_clamped_to_max_payload(void**) {
    FrameWriter& w = make_writer(kFrameHeaderLen + 65535);
    assert_int_equal(w.reserve_frame(100000).size(), 65535);
    assert_true(w.empty()); // reserving alone queues nothing
}

void test_append_frame_copies(void**) {
    FrameWriter& w = make_writer(256);
    ByteVec pkt = echo(4, 7);
    ByteVec want = framed(pkt);
    assert_true(w.append_frame(pkt));
    std::fill(pkt.begin(), pkt.end(), 0xee); // the caller reuses its buffer
    assert_true(pending_copy(w) == want);
}

void test_pending_and_consume(void**) {
    FrameWriter& w = make_writer(512);
    ByteVec a = echo(10, 1);
    ByteVec b = echo(20, 2);
    assert_true(w.append_frame(a));
    assert_true(w.append_frame(b));
    ByteVec want = framed(a);
    ByteVec fb = framed(b);
    want.insert(want.end(), fb.begin(), fb.end());
    assert_int_equal(w.size(), want.size());
    // pending(max) is the front of the queue, at most max bytes.
    assert_int_equal(w.pending(5).size(), 5);
    assert_int_equal(w.pending(100000).size(), want.size());
    send_some(w, 5);
    send_some(w, 60);
    assert_int_equal(w.size(), want.size() - 65);
    send_some(w, 100000);
    assert_true(w.empty());
    assert_int_equal(w.size(), 0);
    assert_int_equal(w.pending(10).size(), 0);
    assert_true(g->stream == want);
}

void test_compaction_keeps_unsent_bytes(void**) {
    // 130 bytes hold two 50-byte frames but not three.
    FrameWriter& w = make_writer(130);
    ByteVec want;
    for (std::uint16_t seq = 1; seq <= 2; ++seq) {
        g->pkts.push_back(echo(0, seq));
        assert_true(w.append_frame(g->pkts.back()));
    }
    send_some(w, 30); // partly into the first frame
    // 30 bytes free at the tail, 30 at the front: only compaction fits 50.
    g->pkts.push_back(echo(0, 3));
    assert_true(w.append_frame(g->pkts.back()));
    assert_int_equal(w.size(), 150 - 30);
    send_some(w, 1000);
    for (const ByteVec& p : g->pkts) {
        ByteVec f = framed(p);
        want.insert(want.end(), f.begin(), f.end());
    }
    assert_true(g->stream == want);
}

void test_frame_that_does_not_fit_changes_nothing(void**) {
    FrameWriter& w = make_writer(120);
    ByteVec a = echo(0, 1);
    assert_true(w.append_frame(a)); // 50 bytes queued
    send_some(w, 10);               // 40 left, from offset 10
    ByteVec before = pending_copy(w);
    const std::uint8_t* front = w.pending(1).data();
    ByteVec big = echo(40, 2); // 88 + 2 > 120 - 40 even after compaction
    assert_false(w.append_frame(big));
    assert_int_equal(w.reserve_frame(big.size()).size(), 0);
    assert_int_equal(w.size(), before.size());
    assert_ptr_equal(w.pending(1).data(), front); // not even compacted
    assert_true(pending_copy(w) == before);
    // Larger than the whole buffer, empty, and over 65535: refused too.
    assert_false(w.append_frame(echo(200, 3)));
    assert_false(w.append_frame(Bytes{}));
    ByteVec huge(65536, 0x60);
    assert_false(w.append_frame(huge));
    assert_true(pending_copy(w) == before);
}

void test_capacity_exactly_full(void**) {
    ByteVec pkt = echo(30, 1);
    FrameWriter& w = make_writer(kFrameHeaderLen + pkt.size());
    assert_true(w.append_frame(pkt));
    assert_int_equal(w.size(), kFrameHeaderLen + pkt.size());
    ByteVec one = echo(0, 2);
    assert_false(w.append_frame(one));
    send_some(w, 1);
    assert_false(w.append_frame(pkt)); // one byte short
    send_some(w, 1000);
    assert_true(w.append_frame(pkt)); // the whole buffer is free again
    assert_true(pending_copy(w) == framed(pkt));
}

void test_storage_is_lazy_and_released_only_when_empty(void**) {
    FrameWriter& w = make_writer(256);
    assert_false(w.has_storage());
    w.release(); // no-op on no storage
    assert_false(w.has_storage());
    ByteVec pkt = echo(8, 1);
    assert_true(w.append_frame(pkt));
    assert_true(w.has_storage());
    w.release(); // queued bytes must survive
    assert_true(w.has_storage());
    assert_true(pending_copy(w) == framed(pkt));
    send_some(w, 3);
    w.release();
    assert_true(w.has_storage());
    send_some(w, 1000);
    w.release();
    assert_false(w.has_storage());
    // Usable again after release.
    assert_true(w.append_frame(pkt));
    assert_true(pending_copy(w) == framed(pkt));
}

// Queues packets of many sizes, alternating the zero-copy and the copy path,
// sending in odd-sized chunks as a socket would take them.
void fill_and_send(FrameWriter& w) {
    std::uint16_t seq = 0;
    for (std::size_t len : {0, 1, 7, 100, 1000, 1452, 3, 0, 555, 1452}) {
        g->pkts.push_back(echo(len, ++seq));
        const ByteVec& pkt = g->pkts.back();
        if (seq % 2 == 0) {
            assert_true(w.append_frame(pkt));
        } else {
            MutBytes room = w.reserve_frame(1500);
            assert_int_equal(room.size(), 1500);
            auto n = enftun::proto::build_echo_request(kSrc, kDst, 0x4242, seq,
                                                       Bytes(pkt).subspan(48), room);
            assert_true(n.has_value());
            w.commit_frame(*n);
        }
        send_some(w, 333);
    }
    send_some(w, 100000);
}

void test_frames_parse_back_with_parse_frame(void**) {
    FrameWriter& w = make_writer(4096);
    fill_and_send(w);
    Bytes rest(g->stream);
    for (const ByteVec& pkt : g->pkts) {
        auto f = enftun::framing::parse_frame(rest, 1500);
        assert_true(f.has_value());
        assert_true(f->has_value());
        assert_true(std::equal((*f)->payload.begin(), (*f)->payload.end(), pkt.begin(), pkt.end()));
        rest = rest.subspan((*f)->consumed);
    }
    assert_int_equal(rest.size(), 0);
}

void test_frames_parse_back_with_reader(void**) {
    FrameWriter& w = make_writer(4096);
    fill_and_send(w);
    FrameReader& r = g->reader.emplace(1500, kFrameHeaderLen + 1500);
    std::size_t off = 0;
    std::size_t seen = 0;
    while (off < g->stream.size()) {
        MutBytes room = r.writable();
        std::size_t n = std::min({room.size(), g->stream.size() - off, std::size_t{777}});
        std::memcpy(room.data(), g->stream.data() + off, n);
        r.commit(n);
        off += n;
        for (;;) {
            auto f = r.next();
            assert_true(f.has_value());
            if (!f->has_value()) {
                break;
            }
            assert_true(seen < g->pkts.size());
            const ByteVec& pkt = g->pkts[seen++];
            assert_true(std::equal((*f)->begin(), (*f)->end(), pkt.begin(), pkt.end()));
        }
    }
    assert_int_equal(seen, g->pkts.size());
}

int setup(void**) {
    g.emplace();
    return 0;
}

int teardown(void**) {
    g.reset();
    return 0;
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reserve_commit_writes_header_in_place, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_header_is_big_endian, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reserve_is_clamped_to_max_payload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_frame_copies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_and_consume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction_keeps_unsent_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frame_that_does_not_fit_changes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_capacity_exactly_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_storage_is_lazy_and_released_only_when_empty, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_frames_parse_back_with_parse_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frames_parse_back_with_reader, setup, teardown),
    };
    return cmocka_run_group_tests_name("frame_writer", tests, nullptr, nullptr);
}
