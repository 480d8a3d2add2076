// Unit tests for framing/frame: the length-prefix parser (partial input,
// early rejection of bad lengths, non-IP payloads, many frames per buffer)
// and FrameReader (frames straddling reads, compaction at exact capacity,
// lazy allocation and release).
#include "test.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "enftun/framing/frame.hpp"
#include "packet_vectors.hpp"

using enftun::Bytes;
using enftun::Errc;
using enftun::MutBytes;
using namespace enftun::framing;

namespace {

// Group-owned state so a failed assert (longjmp) leaks nothing.
std::vector<std::uint8_t> g_stream;            // concatenated frames
std::vector<std::vector<std::uint8_t>> g_pkts; // the packets in g_stream
std::optional<FrameReader> g_reader;

void add_frame(const char* pkt_hex) {
    g_pkts.push_back(hex(pkt_hex));
    const auto& p = g_pkts.back();
    const std::size_t at = g_stream.size();
    g_stream.resize(at + kFrameHeaderLen + p.size());
    write_frame_header(MutBytes(g_stream).subspan(at), static_cast<std::uint16_t>(p.size()));
    std::memcpy(g_stream.data() + at + kFrameHeaderLen, p.data(), p.size());
}

// Three frames of 61, 42 and 60 bytes: IPv6 (odd length), IPv4, IPv6.
void make_stream() {
    g_stream.clear();
    g_pkts.clear();
    add_frame(vec::kEchoOdd);
    add_frame(vec::kIpv4Echo);
    add_frame(vec::kEchoToSelf);
}

void expect_error(const enftun::Result<std::optional<Frame>>& r, const char* what) {
    assert_false(r.has_value());
    assert_int_equal(static_cast<int>(r.error().code), static_cast<int>(Errc::Malformed));
    assert_string_equal(r.error().what, what);
}

void test_write_frame_header_big_endian(void**) {
    std::uint8_t h[2] = {0, 0};
    write_frame_header(h, 0x1234);
    assert_int_equal(h[0], 0x12);
    assert_int_equal(h[1], 0x34);
    write_frame_header(h, 65535);
    assert_int_equal(h[0], 0xff);
    assert_int_equal(h[1], 0xff);
}

// Every proper prefix of a frame is "not yet"; the whole frame parses.
void test_parse_frame_partial_then_complete(void**) {
    make_stream();
    const std::size_t len = kFrameHeaderLen + g_pkts[0].size();
    for (std::size_t n = 0; n < len; ++n) {
        auto r = parse_frame(Bytes(g_stream).first(n), 1500);
        assert_true(r.has_value());
        assert_false(r->has_value());
    }
    auto r = parse_frame(Bytes(g_stream).first(len), 1500);
    assert_true(r.has_value() && r->has_value());
    assert_int_equal((*r)->consumed, len);
    assert_int_equal((*r)->payload.size(), g_pkts[0].size());
    assert_ptr_equal((*r)->payload.data(), g_stream.data() + kFrameHeaderLen);
}

void test_parse_frame_many_in_one_buffer(void**) {
    make_stream();
    Bytes rest(g_stream);
    for (const auto& p : g_pkts) {
        auto r = parse_frame(rest, 1500);
        assert_true(r.has_value() && r->has_value());
        assert_int_equal((*r)->payload.size(), p.size());
        assert_memory_equal((*r)->payload.data(), p.data(), p.size());
        rest = rest.subspan((*r)->consumed);
    }
    assert_int_equal(rest.size(), 0);
}

// Bad lengths are rejected from the header alone, before any payload.
void test_parse_frame_rejects_bad_length_early(void**) {
    static const std::uint8_t zero[] = {0x00, 0x00};
    static const std::uint8_t big[] = {0x05, 0xdd};  // 1501
    static const std::uint8_t huge[] = {0xff, 0xff}; // 65535
    expect_error(parse_frame(zero, 1500), "zero-length frame");
    expect_error(parse_frame(big, 1500), "frame longer than maximum");
    expect_error(parse_frame(huge, 1500), "frame longer than maximum");
    // At the maximum itself: waits for the payload.
    static const std::uint8_t at_max[] = {0x05, 0xdc};
    auto r = parse_frame(at_max, 1500);
    assert_true(r.has_value());
    assert_false(r->has_value());
}

// The frame's payload is exactly one valid IP packet, nothing else.
void test_parse_frame_rejects_non_ip_payload(void**) {
    static const struct {
        const char* name;
        const char* frame;
    } cases[] = {
        {"text", "0005 68656c6c6f"},
        {"one byte", "0001 60"},
        {"version 5", "0014 5000002000000000400100000a0900010a090002"},
        // IPv6 header claiming 1 payload byte, frame carries 2.
        {"ipv6 length mismatch", "002a 6000000000013b40"
                                 "fd000001000000000000000000000005"
                                 "fd000001000000000000000000000009 0000"},
        // IPv4 with total length 21 in a 20-byte frame.
        {"ipv4 length mismatch", "0014 450000150000400040010000 0a090001 0a090002"},
    };
    for (const auto& c : cases) {
        g_stream = hex(c.frame);
        auto r = parse_frame(g_stream, 1500);
        if (r.has_value() || std::string_view(r.error().what) != "frame is not an IP packet") {
            fail_msg("%s: not rejected as non-IP", c.name);
        }
    }
}

// Frames of every size boundary against max_payload.
void test_parse_frame_payload_at_max(void**) {
    make_stream();
    const std::size_t n = g_pkts[0].size(); // 59
    auto ok = parse_frame(g_stream, n);
    assert_true(ok.has_value() && ok->has_value());
    expect_error(parse_frame(g_stream, n - 1), "frame longer than maximum");
}

void drain_into(std::size_t& got) {
    for (;;) {
        auto f = g_reader->next();
        assert_true(f.has_value());
        if (!f->has_value()) {
            return;
        }
        assert_true(got < g_pkts.size());
        const auto& want = g_pkts[got];
        assert_int_equal((*f)->size(), want.size());
        assert_memory_equal((*f)->data(), want.data(), want.size());
        ++got;
    }
}

// Feeds g_stream to g_reader `chunk` bytes at a time (bounded by the space
// writable() offers) and checks the packets come out intact and in order.
void feed_in_chunks(std::size_t chunk) {
    std::size_t pos = 0;
    std::size_t got = 0;
    while (pos < g_stream.size()) {
        MutBytes room = g_reader->writable();
        assert_true(room.size() > 0);
        const std::size_t n = std::min({chunk, room.size(), g_stream.size() - pos});
        std::memcpy(room.data(), g_stream.data() + pos, n);
        g_reader->commit(n);
        pos += n;
        drain_into(got);
    }
    assert_int_equal(got, g_pkts.size());
    assert_int_equal(g_reader->buffered(), 0);
}

void test_reader_frame_straddles_reads(void**) {
    make_stream();
    for (std::size_t chunk : {1u, 2u, 3u, 7u, 60u, 61u, 62u, 100u, 4096u}) {
        g_reader.emplace(1500, 4096);
        feed_in_chunks(chunk);
    }
}

// capacity == header + max_payload: the tightest buffer still carries a
// stream of largest frames, compacting a partial frame to the front.
void test_reader_exact_capacity(void**) {
    g_stream.clear();
    g_pkts.clear();
    for (int i = 0; i < 5; ++i) {
        add_frame(vec::kEchoOdd); // 59-byte payload = the maximum below
    }
    for (std::size_t chunk : {1u, 5u, 40u, 61u, 1000u}) {
        g_reader.emplace(59, kFrameHeaderLen + 59);
        assert_int_equal(g_reader->capacity(), 61);
        feed_in_chunks(chunk);
    }
}

void test_reader_reports_bad_frames(void**) {
    static const struct {
        const char* bytes;
        const char* what;
    } cases[] = {
        {"0000", "zero-length frame"},
        {"05dd", "frame longer than maximum"},
        {"0005 68656c6c6f", "frame is not an IP packet"},
    };
    for (const auto& c : cases) {
        g_stream = hex(c.bytes);
        g_reader.emplace(1500, 2048);
        MutBytes room = g_reader->writable();
        std::memcpy(room.data(), g_stream.data(), g_stream.size());
        g_reader->commit(g_stream.size());
        auto f = g_reader->next();
        assert_false(f.has_value());
        assert_string_equal(f.error().what, c.what);
        // The reader stays on the error: the connection is to be closed.
        assert_false(g_reader->next().has_value());
    }
}

// A good frame before a bad one is delivered first.
void test_reader_good_frame_then_error(void**) {
    make_stream();
    g_stream.push_back(0x00);
    g_stream.push_back(0x00);
    g_reader.emplace(1500, 4096);
    MutBytes room = g_reader->writable();
    std::memcpy(room.data(), g_stream.data(), g_stream.size());
    g_reader->commit(g_stream.size());
    for (std::size_t i = 0; i < g_pkts.size(); ++i) {
        auto f = g_reader->next();
        assert_true(f.has_value() && f->has_value());
    }
    assert_false(g_reader->next().has_value());
}

void test_reader_storage_is_lazy_and_releasable(void**) {
    make_stream();
    g_reader.emplace(1500, 4096);
    assert_false(g_reader->has_storage());
    auto none = g_reader->next();
    assert_true(none.has_value() && !none->has_value());
    assert_int_equal(g_reader->writable().size(), 4096);
    assert_true(g_reader->has_storage());
    // A partial frame keeps the storage.
    MutBytes room = g_reader->writable();
    std::memcpy(room.data(), g_stream.data(), 10);
    g_reader->commit(10);
    g_reader->release();
    assert_true(g_reader->has_storage());
    assert_int_equal(g_reader->buffered(), 10);
    // Once drained, release frees it and the next writable() reallocates.
    room = g_reader->writable();
    std::memcpy(room.data(), g_stream.data() + 10, 51);
    g_reader->commit(51);
    auto f = g_reader->next();
    assert_true(f.has_value() && f->has_value());
    assert_int_equal(g_reader->buffered(), 0);
    g_reader->release();
    assert_false(g_reader->has_storage());
    assert_int_equal(g_reader->writable().size(), 4096);
}

// With spare capacity a partial frame is not moved while the space behind
// it still fits a largest frame; it is moved once that space runs short.
void test_reader_compacts_only_when_needed(void**) {
    make_stream();
    const std::size_t first = kFrameHeaderLen + g_pkts[0].size(); // 61
    g_reader.emplace(100, 300);
    MutBytes room = g_reader->writable();
    std::memcpy(room.data(), g_stream.data(), first + 5);
    g_reader->commit(first + 5);
    auto f = g_reader->next();
    assert_true(f.has_value() && f->has_value());
    assert_int_equal(g_reader->writable().size(), 300 - first - 5); // not moved
    // Fill to leave less than 102 bytes behind the partial frame.
    g_reader.emplace(100, 150);
    room = g_reader->writable();
    std::memcpy(room.data(), g_stream.data(), first + 5);
    g_reader->commit(first + 5);
    f = g_reader->next();
    assert_true(f.has_value() && f->has_value());
    room = g_reader->writable(); // 150 - 66 = 84 < 102: moved to the front
    assert_int_equal(room.size(), 150 - 5);
    assert_int_equal(g_reader->buffered(), 5);
}

int teardown(void**) {
    g_reader.reset();
    std::vector<std::uint8_t>().swap(g_stream);
    std::vector<std::vector<std::uint8_t>>().swap(g_pkts);
    return 0;
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_frame_header_big_endian),
        cmocka_unit_test(test_parse_frame_partial_then_complete),
        cmocka_unit_test(test_parse_frame_many_in_one_buffer),
        cmocka_unit_test(test_parse_frame_rejects_bad_length_early),
        cmocka_unit_test(test_parse_frame_rejects_non_ip_payload),
        cmocka_unit_test(test_parse_frame_payload_at_max),
        cmocka_unit_test(test_reader_frame_straddles_reads),
        cmocka_unit_test(test_reader_exact_capacity),
        cmocka_unit_test(test_reader_reports_bad_frames),
        cmocka_unit_test(test_reader_good_frame_then_error),
        cmocka_unit_test(test_reader_storage_is_lazy_and_releasable),
        cmocka_unit_test(test_reader_compacts_only_when_needed),
    };
    return cmocka_run_group_tests_name("framing", tests, nullptr, teardown);
}
