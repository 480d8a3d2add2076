// Unit tests for packet::PacketWriter: big-endian puts, bounds, error latch.
#include "test.hpp"

#include <array>
#include <cstring>

#include "enftun/packet/packet_writer.hpp"

using enftun::Bytes;
using enftun::Errc;
using enftun::MutBytes;
using enftun::packet::PacketWriter;

namespace {

void test_puts_write_big_endian(void**) {
    std::array<std::uint8_t, 16> buf{};
    PacketWriter w(buf);
    w.put_u8(0xab);
    w.put_be16(0x1234);
    w.put_be32(0xdeadbeef);
    const std::uint8_t tail[] = {1, 2, 3};
    w.put_bytes(tail);
    w.put_zeros(2);
    static const auto want = hex("ab 1234 deadbeef 010203 0000");
    assert_int_equal(w.size(), want.size());
    assert_true(w.ok());
    assert_memory_equal(w.written().data(), want.data(), want.size());
    auto n = w.finish();
    assert_true(n.has_value());
    assert_int_equal(*n, want.size());
}

void test_exact_fit_is_ok(void**) {
    std::array<std::uint8_t, 7> buf{};
    PacketWriter w(buf);
    w.put_u8(1);
    w.put_be16(2);
    w.put_be32(3);
    assert_true(w.ok());
    assert_int_equal(w.remaining(), 0);
    auto n = w.finish();
    assert_true(n.has_value());
    assert_int_equal(*n, 7);
}

// Each put kind that does not fit writes nothing and latches NoSpace.
void test_put_that_does_not_fit_writes_nothing(void**) {
    struct Case {
        std::size_t room;
        void (*put)(PacketWriter&);
    };
    static const std::uint8_t three[] = {7, 8, 9};
    const Case cases[] = {
        {0, [](PacketWriter& w) { w.put_u8(1); }},
        {1, [](PacketWriter& w) { w.put_be16(1); }},
        {3, [](PacketWriter& w) { w.put_be32(1); }},
        {2, [](PacketWriter& w) { w.put_bytes(three); }},
        {4, [](PacketWriter& w) { w.put_zeros(5); }},
    };
    for (const Case& c : cases) {
        std::array<std::uint8_t, 8> buf;
        buf.fill(0xee);
        PacketWriter w(MutBytes(buf).first(c.room));
        c.put(w);
        assert_false(w.ok());
        assert_int_equal(w.size(), 0);
        assert_int_equal(buf[0], 0xee); // untouched
        auto n = w.finish();
        assert_false(n.has_value());
        assert_int_equal(static_cast<int>(n.error().code), static_cast<int>(Errc::NoSpace));
    }
}

// After a failed put, a later put that would fit is ignored: the output is
// a prefix of the intended packet, never a packet with a hole.
void test_error_latches(void**) {
    std::array<std::uint8_t, 4> buf{};
    PacketWriter w(buf);
    w.put_be16(0x0102);
    w.put_be32(0x03040506); // does not fit
    w.put_u8(0x07);         // would fit, must be ignored
    assert_false(w.ok());
    assert_int_equal(w.size(), 2);
    assert_int_equal(w.remaining(), 0);
    assert_int_equal(buf[2], 0);
    assert_false(w.finish().has_value());
}

void test_empty_puts_are_noops(void**) {
    PacketWriter w(MutBytes{});
    w.put_bytes(Bytes{});
    w.put_zeros(0);
    assert_true(w.ok());
    assert_int_equal(w.size(), 0);
    assert_true(w.finish().has_value());
}

// put_bytes may copy a range onto itself (in-place rewrite of a packet).
void test_put_bytes_onto_itself(void**) {
    std::array<std::uint8_t, 6> buf = {1, 2, 3, 4, 5, 6};
    PacketWriter w(buf);
    w.put_zeros(2);
    w.put_bytes(Bytes(buf).subspan(2));
    assert_true(w.ok());
    static const auto want = hex("0000 03040506");
    assert_memory_equal(buf.data(), want.data(), want.size());
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_puts_write_big_endian),
        cmocka_unit_test(test_exact_fit_is_ok),
        cmocka_unit_test(test_put_that_does_not_fit_writes_nothing),
        cmocka_unit_test(test_error_latches),
        cmocka_unit_test(test_empty_puts_are_noops),
        cmocka_unit_test(test_put_bytes_onto_itself),
    };
    return cmocka_run_group_tests_name("packet_writer", tests, nullptr, nullptr);
}
