// Unit tests for filter: every verdict and drop reason of both filters,
// the counters, and the debug drop log (exercised, not parsed).
// log.hpp pulls in <chrono>, whose <ios> has a member named fail(): include
// it before cmocka, which defines fail() as a macro.
#include <cstring>
#include <vector>

#include "enftun/filter/filter.hpp"
#include "enftun/log/log.hpp"
#include "packet_vectors.hpp"

#include "test.hpp"

using enftun::Bytes;
using namespace enftun::filter;
using enftun::proto::Ipv6Addr;

namespace {

std::vector<std::uint8_t> g_pkt; // group-owned: survives a failed assert

// Our address in the captures: the client fd00:1::5.
const Ipv6Addr kSelf = *Ipv6Addr::parse("fd00:1::5");

// kEchoOdd is fd00:1::5 -> fd00:1::9; kEchoToSelf is fd00:1::9 -> fd00:1::5.
constexpr const char* kFromSelf = vec::kEchoOdd;
constexpr const char* kToSelf = vec::kEchoToSelf;
// A 39-byte IPv6 fragment, a version-5 header, and a bad-IHL IPv4 header.
constexpr const char* kIpv6Truncated = "60000000 00133a40 fd000001000000000000000000000005"
                                       "fd0000010000000000000000000000";
constexpr const char* kVersion5 = "50000000 00000000 00000000 00000000 00000000";
constexpr const char* kIpv4BadIhl = "44 00 0014 0000 4000 40 01 0000 0a090001 0a090002";
// Neighbor Advertisements (hop limit 255, target fd00:1::9): from fd00:1::9
// to us, from us to fd00:1::9, and to us behind a Hop-by-Hop header (PadN).
constexpr const char* kNaToSelf = "60000000 00183aff fd000001000000000000000000000009"
                                  "fd000001000000000000000000000005"
                                  "88000000 60000000 fd000001000000000000000000000009";
constexpr const char* kNaFromSelf = "60000000 00183aff fd000001000000000000000000000005"
                                    "fd000001000000000000000000000009"
                                    "88000000 60000000 fd000001000000000000000000000009";
constexpr const char* kNaToSelfHopByHop = "60000000 002000ff fd000001000000000000000000000009"
                                          "fd000001000000000000000000000005"
                                          "3a000104 00000000"
                                          "88000000 60000000 fd000001000000000000000000000009";

struct Case {
    const char* name;
    const char* pkt; // nullptr: the empty packet
    bool allow_ipv4;
    Verdict want;
    DropReason reason;
};

template <typename Filter>
void run_table(const Case* cases, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const Case& c = cases[i];
        g_pkt = c.pkt != nullptr ? hex(c.pkt) : std::vector<std::uint8_t>{};
        Filter f(kSelf, c.allow_ipv4);
        const Verdict v = f.check(g_pkt);
        if (v != c.want || f.last_reason() != c.reason) {
            fail_msg("%s: got verdict %d reason %s, want %d %s", c.name, static_cast<int>(v),
                     to_string(f.last_reason()), static_cast<int>(c.want), to_string(c.reason));
        }
        const FilterStats& s = f.stats();
        assert_int_equal(s.accepted, v == Verdict::Accept ? 1 : 0);
        for (std::size_t r = 0; r < s.dropped.size(); ++r) {
            const bool hit = v == Verdict::Drop && r == static_cast<std::size_t>(c.reason);
            assert_int_equal(s.dropped[r], hit ? 1 : 0);
        }
    }
}

void test_egress_verdicts(void**) {
    static const Case cases[] = {
        {"ipv6 from self", kFromSelf, false, Verdict::Accept, DropReason::None},
        {"ipv6 from self, v4 allowed", kFromSelf, true, Verdict::Accept, DropReason::None},
        {"ipv6 from peer", kToSelf, false, Verdict::Drop, DropReason::WrongSource},
        {"link-local source", vec::kRouterSolicitation, false, Verdict::Drop,
         DropReason::WrongSource},
        {"neighbor advertisement from self", kNaFromSelf, false, Verdict::Drop,
         DropReason::NeighborDiscovery},
        {"ipv6 truncated", kIpv6Truncated, false, Verdict::Drop, DropReason::Malformed},
        {"empty", nullptr, true, Verdict::Drop, DropReason::Malformed},
        {"version 5", kVersion5, true, Verdict::Drop, DropReason::Malformed},
        {"ipv4 allowed", vec::kIpv4Echo, true, Verdict::Accept, DropReason::None},
        {"ipv4 not allowed", vec::kIpv4Echo, false, Verdict::Drop, DropReason::Ipv4NotAllowed},
        {"bad ipv4, allowed", kIpv4BadIhl, true, Verdict::Drop, DropReason::Malformed},
        {"bad ipv4, not allowed", kIpv4BadIhl, false, Verdict::Drop, DropReason::Malformed},
    };
    run_table<EgressFilter>(cases, std::size(cases));
}

void test_ingress_verdicts(void**) {
    static const Case cases[] = {
        {"ipv6 to self", kToSelf, false, Verdict::Accept, DropReason::None},
        {"ipv6 to peer", kFromSelf, false, Verdict::Drop, DropReason::WrongDestination},
        {"multicast destination", vec::kRouterSolicitation, false, Verdict::Drop,
         DropReason::WrongDestination},
        {"neighbor advertisement to self", kNaToSelf, false, Verdict::Drop,
         DropReason::NeighborDiscovery},
        {"... behind a hop-by-hop header", kNaToSelfHopByHop, false, Verdict::Drop,
         DropReason::NeighborDiscovery},
        {"ipv6 truncated", kIpv6Truncated, false, Verdict::Drop, DropReason::Malformed},
        {"empty", nullptr, false, Verdict::Drop, DropReason::Malformed},
        {"version 5", kVersion5, false, Verdict::Drop, DropReason::Malformed},
        {"ipv4 allowed", vec::kIpv4Echo, true, Verdict::Accept, DropReason::None},
        {"ipv4 not allowed", vec::kIpv4Echo, false, Verdict::Drop, DropReason::Ipv4NotAllowed},
        {"bad ipv4, allowed", kIpv4BadIhl, true, Verdict::Drop, DropReason::Malformed},
    };
    run_table<IngressFilter>(cases, std::size(cases));
}

// Counters accumulate per reason; last_reason follows the latest packet.
void test_counters_accumulate(void**) {
    static const auto good = hex(kFromSelf);
    static const auto wrong = hex(kToSelf);
    static const auto v4 = hex(vec::kIpv4Echo);
    EgressFilter f(kSelf, false);
    for (int i = 0; i < 3; ++i) {
        assert_int_equal(static_cast<int>(f.check(good)), static_cast<int>(Verdict::Accept));
    }
    for (int i = 0; i < 2; ++i) {
        assert_int_equal(static_cast<int>(f.check(wrong)), static_cast<int>(Verdict::Drop));
    }
    assert_int_equal(static_cast<int>(f.check(v4)), static_cast<int>(Verdict::Drop));
    assert_int_equal(static_cast<int>(f.last_reason()),
                     static_cast<int>(DropReason::Ipv4NotAllowed));
    assert_int_equal(static_cast<int>(f.check(Bytes{})), static_cast<int>(Verdict::Drop));
    assert_int_equal(static_cast<int>(f.check(good)), static_cast<int>(Verdict::Accept));
    assert_int_equal(static_cast<int>(f.last_reason()), static_cast<int>(DropReason::None));
    const FilterStats& s = f.stats();
    assert_int_equal(s.accepted, 4);
    assert_int_equal(s.dropped_for(DropReason::WrongSource), 2);
    assert_int_equal(s.dropped_for(DropReason::Ipv4NotAllowed), 1);
    assert_int_equal(s.dropped_for(DropReason::Malformed), 1);
    assert_int_equal(s.dropped_for(DropReason::WrongDestination), 0);
    assert_int_equal(s.dropped_for(DropReason::None), 0);
}

void test_drop_reason_names(void**) {
    static const DropReason all[] = {
        DropReason::None,        DropReason::Malformed,        DropReason::Ipv4NotAllowed,
        DropReason::WrongSource, DropReason::WrongDestination, DropReason::NeighborDiscovery};
    static_assert(std::size(all) == static_cast<std::size_t>(DropReason::Count_));
    for (std::size_t i = 0; i < std::size(all); ++i) {
        assert_string_not_equal(to_string(all[i]), "?");
        for (std::size_t j = 0; j < i; ++j) {
            assert_string_not_equal(to_string(all[i]), to_string(all[j]));
        }
    }
    assert_string_equal(to_string(DropReason::WrongSource), "wrong source");
}

// With debug logging on, drops of every shape (including ones too short to
// hold an address) format a line without reading past the packet; ASan
// builds check the reads. More drops than the burst exercise the limiter.
void test_drops_log_at_debug(void**) {
    enftun::log::set_level(enftun::log::Level::Debug);
    static const char* const pkts[] = {kToSelf, kIpv6Truncated, kVersion5, kIpv4BadIhl,
                                       vec::kIpv4Echo};
    EgressFilter eg(kSelf, false);
    IngressFilter in(kSelf, false);
    for (int round = 0; round < 4; ++round) {
        for (const char* p : pkts) {
            g_pkt = hex(p);
            (void)eg.check(g_pkt);
            (void)in.check(g_pkt);
        }
        (void)eg.check(Bytes{});
        static const std::uint8_t one[] = {0x60};
        (void)in.check(one);
    }
    enftun::log::set_level(enftun::log::Level::Info);
    assert_int_equal(eg.stats().accepted, 0);
    assert_int_equal(in.stats().accepted, 4); // kToSelf
}

// With an IPv4 address of our own (tun.ipv4_address), IPv4 is held to the
// IPv6 rule: our source out, our destination in. kIpv4Echo is
// 10.9.0.1 -> 10.9.0.2.
void test_ipv4_held_to_our_address(void**) {
    using enftun::filter::EgressFilter;
    using enftun::filter::IngressFilter;
    using enftun::proto::Ipv4Addr;
    const Ipv4Addr first{10, 9, 0, 1};
    const Ipv4Addr second{10, 9, 0, 2};
    g_pkt = hex(vec::kIpv4Echo);
    {
        EgressFilter out(kSelf, true, first);
        IngressFilter in(kSelf, true, first);
        assert_int_equal(static_cast<int>(out.check(g_pkt)), static_cast<int>(Verdict::Accept));
        assert_int_equal(static_cast<int>(in.check(g_pkt)), static_cast<int>(Verdict::Drop));
        assert_int_equal(static_cast<int>(in.last_reason()),
                         static_cast<int>(DropReason::WrongDestination));
    }
    {
        EgressFilter out(kSelf, true, second);
        IngressFilter in(kSelf, true, second);
        assert_int_equal(static_cast<int>(out.check(g_pkt)), static_cast<int>(Verdict::Drop));
        assert_int_equal(static_cast<int>(out.last_reason()),
                         static_cast<int>(DropReason::WrongSource));
        assert_int_equal(static_cast<int>(in.check(g_pkt)), static_cast<int>(Verdict::Accept));
        assert_int_equal(out.stats().dropped_for(DropReason::WrongSource), 1);
    }
    {
        // Not allowed stays not allowed, address or not.
        EgressFilter out(kSelf, false, first);
        assert_int_equal(static_cast<int>(out.check(g_pkt)), static_cast<int>(Verdict::Drop));
        assert_int_equal(static_cast<int>(out.last_reason()),
                         static_cast<int>(DropReason::Ipv4NotAllowed));
    }
    {
        // IPv6 is judged as before.
        EgressFilter out(kSelf, true, second);
        g_pkt = hex(kFromSelf);
        assert_int_equal(static_cast<int>(out.check(g_pkt)), static_cast<int>(Verdict::Accept));
        IngressFilter in(kSelf, true, second);
        g_pkt = hex(kToSelf);
        assert_int_equal(static_cast<int>(in.check(g_pkt)), static_cast<int>(Verdict::Accept));
    }
}

int teardown(void**) {
    std::vector<std::uint8_t>().swap(g_pkt);
    return 0;
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_egress_verdicts),     cmocka_unit_test(test_ingress_verdicts),
        cmocka_unit_test(test_counters_accumulate), cmocka_unit_test(test_drop_reason_names),
        cmocka_unit_test(test_drops_log_at_debug),  cmocka_unit_test(test_ipv4_held_to_our_address),
    };
    return cmocka_run_group_tests_name("filter", tests, nullptr, teardown);
}
