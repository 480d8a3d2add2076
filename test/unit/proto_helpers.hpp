// proto_helpers.hpp: checks shared by the codec tests over an IPv6 packet
// (icmpv6_test, udp_test): parse a packet that must be valid, get the error
// code of one that may not be, and compare error codes and built packets.
// The asserts fail the calling test (cmocka longjmps); the test's name and,
// in table loops, the case name say which check failed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "enftun/proto/ipv6.hpp"
#include "enftun/util/bytes.hpp"
#include "enftun/util/result.hpp"

#include "test.hpp"

// Two Errc values (or any enums) are equal; shows both as numbers.
#define assert_errc(got, want) assert_int_equal(static_cast<int>(got), static_cast<int>(want))

namespace test_proto {

// For table-driven cases: fails naming the case when got != want.
inline void expect_case_errc(const char* name, enftun::Errc got, enftun::Errc want) {
    if (got != want) {
        fail_msg("%s: got errc %d, want %d", name, static_cast<int>(got), static_cast<int>(want));
    }
}

// A packet parsed as IPv6 and then as the upper-layer message View.
template <typename View>
struct Parsed {
    enftun::proto::Ipv6View ip;
    View upper;
};

// Parses pkt with parse_ipv6 and then parse_upper (parse_icmpv6, parse_udp);
// both must succeed.
template <typename ParseUpper>
auto parse_valid(enftun::Bytes pkt, ParseUpper parse_upper) {
    auto ip = enftun::proto::parse_ipv6(pkt);
    assert_true(ip.has_value());
    auto upper = parse_upper(*ip);
    assert_true(upper.has_value());
    return Parsed<std::remove_cvref_t<decltype(*upper)>>{*ip, *upper};
}

// The error code of parse_upper over pkt, whose IPv6 header must be valid
// (every damaged case keeps it so); Errc::Ok when it parses.
template <typename ParseUpper>
enftun::Errc upper_errc(enftun::Bytes pkt, ParseUpper parse_upper) {
    auto ip = enftun::proto::parse_ipv6(pkt);
    assert_true(ip.has_value());
    auto upper = parse_upper(*ip);
    return upper ? enftun::Errc::Ok : upper.error().code;
}

// A builder returned n bytes, and they are want's bytes.
inline void assert_built(const enftun::Result<std::size_t>& n, enftun::Bytes out,
                         const std::vector<std::uint8_t>& want) {
    assert_true(n.has_value());
    assert_int_equal(*n, want.size());
    assert_memory_equal(out.data(), want.data(), want.size());
}

} // namespace test_proto
