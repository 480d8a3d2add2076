// Unit tests for proto/dhcpv6 and routercard/Dhcpv6Responder: dhcpcd's real
// messages, hand-made malformed ones (one defect each, RFC 8415 layouts),
// the answer plan per message type, and the responder end to end on
// packets, its answers compared with the bytes dhcpcd accepted.
#include "test.hpp"

#include <array>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "enftun/proto/dhcpv6.hpp"
#include "enftun/proto/udp.hpp"
#include "enftun/routercard/dhcpv6_responder.hpp"
#include "packet_fixups.hpp"
#include "routercard_vectors.hpp"

using enftun::Bytes;
using enftun::Errc;
using enftun::MutBytes;
using enftun::Result;
using namespace enftun::proto;
using enftun::tunnel::Dhcpv6Responder;
using enftun::tunnel::plan_dhcpv6_answer;

namespace {

using Pkt = std::vector<std::uint8_t>;

Pkt g_pkt;
Pkt g_msg;
Pkt g_want;
std::vector<Pkt> g_sent;
std::array<std::uint8_t, 2048> g_out;

const char* const kDhcpcdAddr = "fe80::c75c:8a66:e493:7b90";
const Ipv6Addr kLease = *Ipv6Addr::parse("fd00:e::5");
// The server DUID enftun had when the dhcpcd vectors were captured.
const Pkt kServerDuid = hex("0004966701e642fd4c6ea80b858beb91e03f");
// dhcpcd's DUID-LLT (type 1, hardware type 772 from lo); it made a new one
// (another time field) before the Rapid Commit run.
const Pkt kDhcpcdDuid = hex("0001 0304 32952948 000000000000");
const Pkt kDhcpcdDuidRapid = hex("0001 0304 32952959 000000000000");

// The UDP payload (the DHCPv6 message) of a captured packet.
Pkt dhcp_payload(const char* pkt_hex) {
    Pkt p = hex(pkt_hex);
    return Pkt(p.begin() + kIpv6HeaderLen + kUdpHeaderLen, p.end());
}

Pkt udp_packet(const Pkt& payload, const char* dst = "ff02::1:2", std::uint16_t dport = 547,
               const char* src = kDhcpcdAddr) {
    Udp6Builder b(g_out, {*Ipv6Addr::parse(src), *Ipv6Addr::parse(dst), 546, dport}, 1);
    b.writer().put_bytes(payload);
    auto n = b.finish();
    assert_true(n.has_value());
    return Pkt(g_out.begin(), g_out.begin() + static_cast<std::ptrdiff_t>(*n));
}

bool same(const std::optional<Bytes>& got, const Pkt& want) {
    return got && got->size() == want.size() && std::equal(want.begin(), want.end(), got->begin());
}

void test_parse_dhcpcd_messages(void**) {
    static const struct {
        const char* pkt;
        std::uint8_t type;
        bool server_id;
        bool addr;
    } cases[] = {
        {rcvec::kDhcpcdSolicit, kDhcpv6Solicit, false, false},
        {rcvec::kDhcpcdRequest, kDhcpv6Request, true, true},
        {rcvec::kDhcpcdConfirm, kDhcpv6Confirm, false, true},
        {rcvec::kDhcpcdRenew, kDhcpv6Renew, true, true},
        {rcvec::kDhcpcdRebind, kDhcpv6Rebind, false, true},
        {rcvec::kDhcpcdRelease, kDhcpv6Release, true, true},
        {rcvec::kDhcpcdSolicitRapid, kDhcpv6Solicit, false, false},
    };
    for (const auto& c : cases) {
        g_msg = dhcp_payload(c.pkt);
        auto m = parse_dhcpv6(g_msg);
        assert_true(m.has_value());
        assert_int_equal(m->msg_type(), c.type);
        assert_int_equal(m->transaction_id(), enftun::load_be32(g_msg, 0) & 0xffffff);
        assert_true(same(m->client_id(),
                         c.pkt == rcvec::kDhcpcdSolicitRapid ? kDhcpcdDuidRapid : kDhcpcdDuid));
        assert_int_equal(m->server_id().has_value(), c.server_id);
        if (c.server_id) {
            assert_true(same(m->server_id(), kServerDuid));
        }
        assert_true(m->ia_na().has_value());
        assert_int_equal(m->ia_na()->iaid, 1);
        assert_int_equal(m->ia_na()->addr.has_value(), c.addr);
        if (c.addr) {
            assert_true(*m->ia_na()->addr == kLease);
        }
        assert_true(check_client_message(*m).has_value());
    }
    g_msg = dhcp_payload(rcvec::kDhcpcdSolicitRapid);
    assert_true(parse_dhcpv6(g_msg)->rapid_commit());
    g_msg = dhcp_payload(rcvec::kDhcpcdSolicit);
    assert_false(parse_dhcpv6(g_msg)->rapid_commit());
}

void test_parse_our_answers(void**) {
    g_msg = dhcp_payload(rcvec::kOurAdvertise);
    auto adv = parse_dhcpv6(g_msg);
    assert_true(adv.has_value());
    assert_int_equal(adv->msg_type(), kDhcpv6Advertise);
    assert_true(same(adv->server_id(), kServerDuid));
    assert_int_equal(adv->ia_na()->t1, 1800);
    assert_int_equal(adv->ia_na()->t2, 2880);
    assert_true(*adv->ia_na()->addr == kLease);
    g_msg = dhcp_payload(rcvec::kOurReplyToConfirm);
    auto rep = parse_dhcpv6(g_msg);
    assert_true(rep.has_value());
    assert_true(rep->status() == Dhcpv6Status::Success);
}

// Client ID option with a 10-byte DUID-LL (RFC 8415 §11.4).
const char* const kCid = "0001 000a 0003 0001 020000000001";
const char* const kSid = "0002 000a 0003 0001 020000000002";
const char* const kIaNa = "0003 000c 00000001 00000000 00000000";
// Our own Server ID option (kServerDuid).
const char* const kOurSid = "0002 0012 0004966701e642fd4c6ea80b858beb91e03f";

std::string cat(std::initializer_list<const char*> parts) {
    std::string s;
    for (const char* p : parts) {
        s += p;
        s += ' ';
    }
    return s;
}

// One defect per message; everything else is well-formed.
void test_parse_dhcpv6_errors(void**) {
    std::string long_duid = "0001 0083";
    for (int i = 0; i < 131; ++i) {
        long_duid += " 03";
    }
    const struct {
        const char* name;
        std::string msg;
        Errc want;
    } cases[] = {
        {"well-formed Solicit", cat({"01 123456", kCid, kIaNa}), Errc::Ok},
        {"no options at all", "0b 123456", Errc::Ok},
        {"unknown option ignored", cat({"01 123456", kCid, "ff00 0002 abcd"}), Errc::Ok},
        {"3-byte message", "01 1234", Errc::Truncated},
        {"option header cut", cat({"01 123456", kCid, "0008"}), Errc::Truncated},
        {"option body past the end", "01 123456 0001 000a 0003 0001", Errc::Truncated},
        {"Client ID of 2 bytes", "01 123456 0001 0002 0003", Errc::Malformed},
        {"Client ID of 131 bytes", cat({"01 123456", long_duid.c_str()}), Errc::Malformed},
        {"Client ID twice", cat({"01 123456", kCid, kCid}), Errc::Malformed},
        {"Server ID twice", cat({"03 123456", kCid, kSid, kSid}), Errc::Malformed},
        {"IA_NA of 11 bytes", cat({"01 123456", kCid, "0003 000b 00000001 00000000 000000"}),
         Errc::Malformed},
        {"IA_NA option past its end",
         cat({"01 123456", kCid, "0003 0010 00000001 00000000 00000000 0005 0018"}),
         Errc::Truncated},
        {"IA Address of 23 bytes",
         cat({"03 123456", kCid, kSid, "0003 0027 00000001 00000000 00000000 0005 0017",
              "fd00000e000000000000000000000005 00000000 000000"}),
         Errc::Malformed},
        {"Rapid Commit with data", cat({"01 123456", kCid, "000e 0001 00"}), Errc::Malformed},
        {"Status Code of 1 byte", cat({"07 123456", kCid, "000d 0001 00"}), Errc::Malformed},
        {"Preference of 2 bytes", cat({"02 123456", kCid, "0007 0002 ffff"}), Errc::Malformed},
    };
    for (const auto& c : cases) {
        g_msg = hex(c.msg.c_str());
        auto m = parse_dhcpv6(g_msg);
        const Errc got = m ? Errc::Ok : m.error().code;
        if (got != c.want) {
            fail_msg("%s: got errc %d, want %d", c.name, static_cast<int>(got),
                     static_cast<int>(c.want));
        }
    }
}

void test_check_client_message(void**) {
    const struct {
        const char* name;
        std::string msg;
        Errc want;
    } cases[] = {
        {"Solicit", cat({"01 123456", kCid, kIaNa}), Errc::Ok},
        {"Solicit without Client ID", cat({"01 123456", kIaNa}), Errc::Malformed},
        {"Solicit with Server ID", cat({"01 123456", kCid, kSid}), Errc::Malformed},
        {"Request", cat({"03 123456", kCid, kSid, kIaNa}), Errc::Ok},
        {"Request without Server ID", cat({"03 123456", kCid, kIaNa}), Errc::Malformed},
        {"Confirm with Server ID", cat({"04 123456", kCid, kSid}), Errc::Malformed},
        {"Renew without Client ID", cat({"05 123456", kSid, kIaNa}), Errc::Malformed},
        {"Rebind with Server ID", cat({"06 123456", kCid, kSid}), Errc::Malformed},
        {"Release without Server ID", cat({"08 123456", kCid}), Errc::Malformed},
        {"Decline", cat({"09 123456", kCid, kSid, kIaNa}), Errc::Ok},
        {"Information-request", cat({"0b 123456", kCid}), Errc::Ok},
        {"Information-request without Client ID", "0b 123456", Errc::Ok},
        {"Information-request with IA_NA", cat({"0b 123456", kCid, kIaNa}), Errc::Malformed},
        {"Information-request with IA_PD", cat({"0b 123456", kCid, "0019 0000"}), Errc::Malformed},
        {"Advertise", cat({"02 123456", kCid, kSid}), Errc::Unsupported},
        {"Reply", cat({"07 123456", kCid, kSid}), Errc::Unsupported},
        {"Reconfigure", cat({"0a 123456", kCid, kSid}), Errc::Unsupported},
        {"Relay-forward", cat({"0c 123456", kCid}), Errc::Unsupported},
        {"unknown type 200", cat({"c8 123456", kCid}), Errc::Unsupported},
    };
    for (const auto& c : cases) {
        g_msg = hex(c.msg.c_str());
        auto m = parse_dhcpv6(g_msg);
        assert_true(m.has_value());
        auto st = check_client_message(*m);
        const Errc got = st ? Errc::Ok : st.error().code;
        if (got != c.want) {
            fail_msg("%s: got errc %d, want %d", c.name, static_cast<int>(got),
                     static_cast<int>(c.want));
        }
    }
}

// Builds m into g_out and compares it with g_want, byte for byte.
void expect_built(const Dhcpv6ServerMessage& m) {
    enftun::packet::PacketWriter w(g_out);
    build_dhcpv6_server_message(m, w);
    auto n = w.finish();
    assert_true(n.has_value());
    assert_int_equal(*n, g_want.size());
    assert_memory_equal(g_out.data(), g_want.data(), g_want.size());
}

// The builder must write the Advertise that dhcpcd accepted, byte for byte.
void test_build_matches_accepted_advertise(void**) {
    g_want = dhcp_payload(rcvec::kOurAdvertise);
    Dhcpv6ServerMessage m;
    m.msg_type = kDhcpv6Advertise;
    m.transaction_id = enftun::load_be32(g_want, 0) & 0xffffff;
    m.server_id = kServerDuid;
    m.client_id = kDhcpcdDuid;
    m.lease = Dhcpv6Lease{1, 1800, 2880, kLease, 3600, 7200};
    m.preference = 255;
    expect_built(m);
}

// A Reply with every optional part, spelled out from RFC 8415 §8, §21.
void test_build_all_options(void**) {
    g_want = hex("07 abcdef"                            // Reply, transaction-id
                 "0002 0003 000401"                     // Server ID
                 "0001 0003 000302"                     // Client ID
                 "0003 0028 0000002a 00000001 00000002" // IA_NA: IAID 42, T1, T2
                 "0005 0018 fd00000e000000000000000000000005 00000003 00000004"
                 "0007 0001 07"   // Preference 7
                 "000e 0000"      // Rapid Commit
                 "000d 0002 0004" // Status Code NotOnLink
    );
    const Pkt sid = hex("000401");
    const Pkt cid = hex("000302");
    Dhcpv6ServerMessage m;
    m.msg_type = kDhcpv6Reply;
    m.transaction_id = 0x12abcdef; // the builder keeps the low 24 bits
    m.server_id = sid;
    m.client_id = cid;
    m.lease = Dhcpv6Lease{42, 1, 2, kLease, 3, 4};
    m.preference = 7;
    m.rapid_commit = true;
    m.status = Dhcpv6Status::NotOnLink;
    expect_built(m);
    // Without a Client ID (an Information-request without one).
    m.client_id = {};
    m.lease.reset();
    enftun::packet::PacketWriter w2(g_out);
    build_dhcpv6_server_message(m, w2);
    assert_int_equal(*w2.finish(), 4 + 7 + 5 + 4 + 6);
    enftun::packet::PacketWriter small(MutBytes(g_out).first(10));
    build_dhcpv6_server_message(m, small);
    assert_false(small.finish().has_value());
}

// The client's IA_NAs in an answer (RFC 8415 §18.3.4, §18.3.5, §21.4,
// §21.6, §21.13): in a Renew or Rebind its other address comes back in our
// IA_NA with lifetimes 0; its second IA_NA comes back empty with a Status
// Code NoAddrsAvail inside. Spelled out by hand.
void test_build_returns_client_ias(void**) {
    const Pkt client_options =
        hex("0003 0044 00000001 00000000 00000000" // IA_NA IAID 1, two addresses:
            "0005 0018 fd00000e000000000000000000000009 00000000 00000000" // another
            "0005 0018 fd00000e000000000000000000000005 00000000 00000000" // ours
            "0001 0003 000302"                                             // Client ID
            "0003 000c 00000002 00000000 00000000");                       // IA_NA IAID 2, empty
    const Pkt sid = hex("000401");
    const Pkt cid = hex("000302");
    Dhcpv6ServerMessage m;
    m.transaction_id = 0xabcdef;
    m.server_id = sid;
    m.client_id = cid;
    m.lease = Dhcpv6Lease{1, 1800, 2880, kLease, 3600, 7200};
    m.client_options = client_options;
    m.withdraw_other_addrs = true;
    g_want = hex("07 abcdef 0002 0003 000401 0001 0003 000302"
                 "0003 0044 00000001 00000708 00000b40" // IA_NA IAID 1, T1, T2
                 "0005 0018 fd00000e000000000000000000000005 00000e10 00001c20"
                 "0005 0018 fd00000e000000000000000000000009 00000000 00000000"
                 "0003 0012 00000002 00000000 00000000" // IA_NA IAID 2
                 "000d 0002 0002");                     // NoAddrsAvail
    expect_built(m);
    // A Request: no address withdrawn, the second IA still refused.
    m.withdraw_other_addrs = false;
    g_want = hex("07 abcdef 0002 0003 000401 0001 0003 000302"
                 "0003 0028 00000001 00000708 00000b40"
                 "0005 0018 fd00000e000000000000000000000005 00000e10 00001c20"
                 "0003 0012 00000002 00000000 00000000 000d 0002 0002");
    expect_built(m);
}

// A client listing 20 other addresses and 20 more IA_NAs gets 8 of each
// back: the answer stays within its buffer.
void test_build_caps_client_ias(void**) {
    std::string opts = "0003 0238 00000001 00000000 00000000"; // 12 + 20 x 28 bytes
    char buf[96];
    for (int i = 0; i < 20; ++i) { // fd00:e::1:0 .. fd00:e::1:13
        std::snprintf(buf, sizeof buf,
                      " 0005 0018 fd00000e00000000000000000001%04x 00000000 00000000", i);
        opts += buf;
    }
    for (int i = 0; i < 20; ++i) { // IAIDs 2 .. 21
        std::snprintf(buf, sizeof buf, " 0003 000c %08x 00000000 00000000", i + 2);
        opts += buf;
    }
    g_msg = hex(opts.c_str());
    const Pkt sid = hex("000401");
    Dhcpv6ServerMessage m;
    m.server_id = sid;
    m.lease = Dhcpv6Lease{1, 1800, 2880, kLease, 3600, 7200};
    m.client_options = g_msg;
    m.withdraw_other_addrs = true;
    enftun::packet::PacketWriter w(g_out);
    build_dhcpv6_server_message(m, w);
    auto n = w.finish();
    assert_true(n.has_value());
    constexpr std::size_t kIaAddr = 28, kRefusedIa = 22;
    assert_int_equal(*n, 4 + 7 + 4 + 12 + (1 + kDhcpv6MaxReturned) * kIaAddr +
                             kDhcpv6MaxReturned * kRefusedIa);
    assert_int_equal(enftun::load_be16(g_out, 11 + 2), 12 + (1 + kDhcpv6MaxReturned) * kIaAddr);
}

struct PlanCase {
    const char* name;
    std::string msg;
    bool answered;
    std::uint8_t type;
    bool lease;
    bool rapid;
    std::optional<Dhcpv6Status> status;
};

void test_plan_answers(void**) {
    const std::string other_addr_confirm =
        cat({"04 123456", kCid, "0003 0028 00000001 00000000 00000000 0005 0018",
             "fd00000e000000000000000000000009 00000000 00000000"});
    const std::string our_addr_confirm =
        cat({"04 123456", kCid, "0003 0028 00000001 00000000 00000000 0005 0018",
             "fd00000e000000000000000000000005 00000000 00000000"});
    const PlanCase cases[] = {
        {"Solicit", cat({"01 123456", kCid, kIaNa}), true, kDhcpv6Advertise, true, false, {}},
        {"Solicit, Rapid Commit",
         cat({"01 123456", kCid, kIaNa, "000e 0000"}),
         true,
         kDhcpv6Reply,
         true,
         true,
         {}},
        {"Solicit without IA_NA", cat({"01 123456", kCid}), true, kDhcpv6Advertise, false, false,
         Dhcpv6Status::NoAddrsAvail},
        {"Request", cat({"03 123456", kCid, kSid, kIaNa}), true, kDhcpv6Reply, true, false, {}},
        {"Renew", cat({"05 123456", kCid, kSid, kIaNa}), true, kDhcpv6Reply, true, false, {}},
        {"Rebind", cat({"06 123456", kCid, kIaNa}), true, kDhcpv6Reply, true, false, {}},
        {"Request without IA_NA", cat({"03 123456", kCid, kSid}), true, kDhcpv6Reply, false, false,
         Dhcpv6Status::NoAddrsAvail},
        {"Release", cat({"08 123456", kCid, kSid, kIaNa}), true, kDhcpv6Reply, false, false,
         Dhcpv6Status::Success},
        {"Decline", cat({"09 123456", kCid, kSid, kIaNa}), true, kDhcpv6Reply, false, false,
         Dhcpv6Status::Success},
        {"Confirm, our address", our_addr_confirm, true, kDhcpv6Reply, false, false,
         Dhcpv6Status::Success},
        {"Confirm, another address", other_addr_confirm, true, kDhcpv6Reply, false, false,
         Dhcpv6Status::NotOnLink},
        {"Confirm without address", cat({"04 123456", kCid, kIaNa}), false, 0, false, false, {}},
        // RFC 8415 §18.3.3: every address counts, in any IA, not just the
        // first one of the first IA_NA.
        {"Confirm, ours then another in one IA_NA",
         cat({"04 123456", kCid, "0003 0044 00000001 00000000 00000000",
              "0005 0018 fd00000e000000000000000000000005 00000000 00000000",
              "0005 0018 fd00000e000000000000000000000009 00000000 00000000"}),
         true, kDhcpv6Reply, false, false, Dhcpv6Status::NotOnLink},
        {"Confirm, an empty IA_NA, then another address in a second",
         cat({"04 123456", kCid, kIaNa, "0003 0028 00000002 00000000 00000000 0005 0018",
              "fd00000e000000000000000000000009 00000000 00000000"}),
         true, kDhcpv6Reply, false, false, Dhcpv6Status::NotOnLink},
        {"Confirm, ours in an IA_NA, another in an IA_TA",
         cat({our_addr_confirm.c_str(), "0004 0020 00000003 0005 0018",
              "fd00000e000000000000000000000009 00000000 00000000"}),
         true, kDhcpv6Reply, false, false, Dhcpv6Status::NotOnLink},
        {"Confirm, ours in an IA_NA and in an IA_TA",
         cat({our_addr_confirm.c_str(), "0004 0020 00000003 0005 0018",
              "fd00000e000000000000000000000005 00000000 00000000"}),
         true, kDhcpv6Reply, false, false, Dhcpv6Status::Success},
        {"Information-request", cat({"0b 123456", kCid}), true, kDhcpv6Reply, false, false, {}},
    };
    for (const auto& c : cases) {
        g_msg = hex(c.msg.c_str());
        auto m = parse_dhcpv6(g_msg);
        assert_true(m.has_value());
        auto a = plan_dhcpv6_answer(*m, kLease, kServerDuid);
        if (a.has_value() != c.answered) {
            fail_msg("%s: answered %d", c.name, a.has_value());
        }
        if (!a) {
            continue;
        }
        if (a->msg_type != c.type || a->lease.has_value() != c.lease ||
            a->rapid_commit != c.rapid || a->status != c.status || a->transaction_id != 0x123456) {
            fail_msg("%s: wrong answer (type %u)", c.name, a->msg_type);
        }
        assert_int_equal(a->preference.has_value(), c.type == kDhcpv6Advertise);
        assert_int_equal(a->client_id.size(), 10);
        if (a->lease) {
            assert_true(a->lease->addr == kLease);
            assert_int_equal(a->lease->iaid, 1);
        }
    }
}

// ---------------------------------------------------------------- responder

struct Fixture {
    bool send_ok = true;
    Dhcpv6Responder responder{kLease, kServerDuid, [this](Bytes p) {
                                  g_sent.emplace_back(p.begin(), p.end());
                                  return send_ok;
                              }};
};
std::unique_ptr<Fixture> g_fx;

int setup_responder(void**) {
    g_fx = std::make_unique<Fixture>();
    g_sent.clear();
    return 0;
}

int teardown_responder(void**) {
    g_fx.reset();
    return 0;
}

bool offer(const Pkt& pkt) {
    auto ip = parse_ipv6(pkt);
    assert_true(ip.has_value());
    return g_fx->responder.consume(*ip);
}

// Each dhcpcd message gets exactly the answer dhcpcd accepted from enftun.
void test_responder_answers_like_before(void**) {
    static const struct {
        const char* in;
        const char* out;
    } cases[] = {
        {rcvec::kDhcpcdSolicit, rcvec::kOurAdvertise},
        {rcvec::kDhcpcdRequest, rcvec::kOurReplyToRequest},
        {rcvec::kDhcpcdConfirm, rcvec::kOurReplyToConfirm},
        {rcvec::kDhcpcdSolicitRapid, rcvec::kOurReplyRapid},
    };
    for (const auto& c : cases) {
        g_sent.clear();
        assert_true(offer(hex(c.in)));
        assert_int_equal(g_sent.size(), 1);
        g_want = hex(c.out);
        assert_int_equal(g_sent[0].size(), g_want.size());
        assert_memory_equal(g_sent[0].data(), g_want.data(), g_want.size());
    }
    assert_int_equal(g_fx->responder.stats().answered, 4);
}

Result<Dhcpv6View> sent_message() {
    auto ip = parse_ipv6(g_sent.back());
    assert_true(ip.has_value());
    assert_true(ip->src() == kRouterLinkLocal);
    assert_true(ip->dst() == *Ipv6Addr::parse(kDhcpcdAddr));
    auto udp = parse_udp(*ip);
    assert_true(udp.has_value());
    assert_int_equal(udp->src_port(), 547);
    assert_int_equal(udp->dst_port(), 546);
    g_want.assign(udp->payload().begin(), udp->payload().end());
    return parse_dhcpv6(g_want);
}

void test_responder_renew_rebind_release(void**) {
    for (const char* in : {rcvec::kDhcpcdRenew, rcvec::kDhcpcdRebind}) {
        assert_true(offer(hex(in)));
        auto m = sent_message();
        assert_true(m.has_value());
        assert_int_equal(m->msg_type(), kDhcpv6Reply);
        assert_true(same(m->client_id(), kDhcpcdDuid));
        assert_true(same(m->server_id(), kServerDuid));
        assert_true(*m->ia_na()->addr == kLease);
    }
    assert_true(offer(hex(rcvec::kDhcpcdRelease)));
    auto m = sent_message();
    assert_true(m->status() == Dhcpv6Status::Success);
    assert_false(m->ia_na().has_value());
    assert_int_equal(g_sent.size(), 3);
}

// A Renew or Rebind for an address that is not ours, and a second IA_NA:
// the Reply gives our address, that one with lifetimes 0 (RFC 8415
// §18.3.4, §18.3.5), and the second IA_NA back with NoAddrsAvail inside.
void test_responder_renew_other_address(void**) {
    const char* const ias = "0003 0028 00000001 00000000 00000000"
                            "0005 0018 fd00000e000000000000000000000009 00000000 00000000"
                            "0003 000c 00000007 00000000 00000000";
    const std::string want = cat({"0002 0012 0004966701e642fd4c6ea80b858beb91e03f", kCid,
                                  "0003 0044 00000001 00000708 00000b40"
                                  "0005 0018 fd00000e000000000000000000000005 00000e10 00001c20"
                                  "0005 0018 fd00000e000000000000000000000009 00000000 00000000"
                                  "0003 0012 00000007 00000000 00000000 000d 0002 0002"});
    for (const std::string& in : {cat({"05 123456", kCid, kOurSid, ias}), // Renew
                                  cat({"06 123456", kCid, ias})}) {       // Rebind
        g_sent.clear();
        assert_true(offer(udp_packet(hex(in.c_str()))));
        assert_int_equal(g_sent.size(), 1);
        assert_true(sent_message().has_value());
        const Pkt expected = hex(("07 123456" + want).c_str());
        assert_int_equal(g_want.size(), expected.size());
        assert_memory_equal(g_want.data(), expected.data(), expected.size());
    }
}

// A client that asks for prefixes (IA_PD, RFC 8415 §21.21) from a card that
// delegates none: each IA_PD back empty with NoPrefixAvail inside to a
// Solicit or Request (§18.3.1, §18.3.2), NoBinding to a Renew or Rebind
// (§18.3.4, §18.3.5); no top-level NoAddrsAvail when it asked for no
// address (that status is about IA_NAs); with an IA_NA too, the lease
// and the IA_PD's status side by side. Spelled out by hand.
void test_responder_prefix_delegation(void**) {
    const char* const ia_pd = "0019 000c 0000000a 00000000 00000000";
    const char* const ia_pd_hint = // IAID 11 with an IA Prefix hint (a /56)
        "0019 0025 0000000b 00000000 00000000 001a 0019 00000000 00000000 38"
        "00000000000000000000000000000000";
    const std::string head = cat({"0002 0012 0004966701e642fd4c6ea80b858beb91e03f", kCid});
    const std::string lease = "0003 0028 00000001 00000708 00000b40"
                              "0005 0018 fd00000e000000000000000000000005 00000e10 00001c20";
    const struct {
        const char* name;
        std::string in;
        std::string want;
    } cases[] = {
        {"Solicit, IA_PD only", cat({"01 123456", kCid, ia_pd}),
         cat({"02 123456", head.c_str(), "0019 0012 0000000a 00000000 00000000 000d 0002 0006",
              "0007 0001 ff"})},
        {"Request, two IA_PDs", cat({"03 123456", kCid, kOurSid, ia_pd, ia_pd_hint}),
         cat({"07 123456", head.c_str(), "0019 0012 0000000a 00000000 00000000 000d 0002 0006",
              "0019 0012 0000000b 00000000 00000000 000d 0002 0006"})},
        {"Solicit, IA_NA and IA_PD", cat({"01 123456", kCid, kIaNa, ia_pd}),
         cat({"02 123456", head.c_str(), lease.c_str(),
              "0019 0012 0000000a 00000000 00000000 000d 0002 0006 0007 0001 ff"})},
        {"Renew, IA_PD only", cat({"05 123456", kCid, kOurSid, ia_pd}),
         cat({"07 123456", head.c_str(), "0019 0012 0000000a 00000000 00000000 000d 0002 0003"})},
        {"Rebind, IA_NA and IA_PD", cat({"06 123456", kCid, kIaNa, ia_pd}),
         cat({"07 123456", head.c_str(), lease.c_str(),
              "0019 0012 0000000a 00000000 00000000 000d 0002 0003"})},
    };
    for (const auto& c : cases) {
        g_sent.clear();
        assert_true(offer(udp_packet(hex(c.in.c_str()))));
        if (g_sent.size() != 1) {
            fail_msg("%s: %zu answers", c.name, g_sent.size());
        }
        auto m = sent_message();
        assert_true(m.has_value());
        assert_false(m->status().has_value()); // no top-level NoAddrsAvail
        const Pkt expected = hex(c.want.c_str());
        if (g_want != expected) {
            fail_msg("%s: the answer differs", c.name);
        }
    }
}

// 20 IA_PDs get 8 back, the answer within its buffer.
void test_build_caps_client_pds(void**) {
    std::string opts;
    char buf[64];
    for (int i = 0; i < 20; ++i) {
        std::snprintf(buf, sizeof buf, " 0019 000c %08x 00000000 00000000", i + 2);
        opts += buf;
    }
    g_msg = hex(opts.c_str());
    const Pkt sid = hex("000401");
    Dhcpv6ServerMessage m;
    m.server_id = sid;
    m.client_options = g_msg;
    m.ia_pd_status = Dhcpv6Status::NoPrefixAvail;
    enftun::packet::PacketWriter w(g_out);
    build_dhcpv6_server_message(m, w);
    auto n = w.finish();
    assert_true(n.has_value());
    assert_int_equal(*n, 4 + 7 + kDhcpv6MaxReturned * 22);
}

// Packets that are not DHCPv6 for a server on this link are not consumed.
void test_responder_passes_others(void**) {
    const Pkt solicit = dhcp_payload(rcvec::kDhcpcdSolicit);
    assert_false(offer(udp_packet(solicit, "fd00:e::1")));     // a real server beyond
    assert_false(offer(udp_packet(solicit, "ff05::1:3")));     // site-scope servers
    assert_false(offer(udp_packet(solicit, "ff02::1:2", 53))); // not port 547
    assert_false(offer(hex(rcvec::kNsForRouter)));             // not UDP
    assert_true(offer(udp_packet(solicit, "fe80::1")));        // unicast to us
    assert_int_equal(g_sent.size(), 1);
}

// Malformed messages are consumed, counted, and never answered.
void test_responder_drops_malformed(void**) {
    Pkt bad = hex(rcvec::kDhcpcdSolicit);
    bad[60] ^= 0x01; // checksum no longer verifies
    assert_true(offer(bad));
    Pkt no_cid = udp_packet(hex(cat({"01 123456", kIaNa}).c_str()));
    assert_true(offer(no_cid));
    Pkt truncated = udp_packet(hex("01 1234"));
    assert_true(offer(truncated));
    Pkt from_unspecified = udp_packet(dhcp_payload(rcvec::kDhcpcdSolicit), "ff02::1:2", 547, "::");
    assert_true(offer(from_unspecified));
    // RFC 4291 §2.7: never a source; an answer would go to a group.
    Pkt from_multicast =
        udp_packet(dhcp_payload(rcvec::kDhcpcdSolicit), "ff02::1:2", 547, "ff02::1");
    assert_true(offer(from_multicast));
    Pkt cut = hex(rcvec::kDhcpcdSolicit);
    cut.resize(kIpv6HeaderLen + 6); // UDP header cut short
    fixup::payload_length(cut);
    assert_true(offer(cut));
    assert_int_equal(g_fx->responder.stats().malformed, 6);
    assert_int_equal(g_sent.size(), 0);
}

// Another server's messages (RFC 8415 §16: a Server ID that is not ours,
// for every type that may carry one) and server-to-client types are
// ignored.
void test_responder_ignores_others(void**) {
    static const char* const other_server[] = {"03 123456", "05 123456", "08 123456",
                                               "09 123456"}; // Request Renew Release Decline
    for (const char* head : other_server) {
        assert_true(offer(udp_packet(hex(cat({head, kCid, kSid, kIaNa}).c_str()))));
    }
    // Information-request, §16.12: the Server ID is optional, but not ours.
    assert_true(offer(udp_packet(hex(cat({"0b 123456", kCid, kSid}).c_str()))));
    const Pkt advertise = udp_packet(hex(cat({"02 123456", kCid, kSid}).c_str()));
    assert_true(offer(advertise));
    const Pkt confirm_no_addr = udp_packet(hex(cat({"04 123456", kCid, kIaNa}).c_str()));
    assert_true(offer(confirm_no_addr));
    assert_int_equal(g_fx->responder.stats().ignored, 7);
    assert_int_equal(g_fx->responder.stats().answered, 0);
    assert_int_equal(g_sent.size(), 0);
}

// Decline (§18.3.8) and Information-request (§18.3.6) end to end: a Reply
// to the client, our Server ID, its Client ID and transaction ID, and no
// IA_NA; Decline with status Success.
void test_responder_decline_information_request(void**) {
    const Pkt cid = hex("0003 0001 020000000001"); // the DUID in kCid
    assert_true(offer(udp_packet(hex(cat({"09 abcdef", kCid, kOurSid, kIaNa}).c_str()))));
    auto m = sent_message();
    assert_true(m.has_value());
    assert_int_equal(m->msg_type(), kDhcpv6Reply);
    assert_int_equal(m->transaction_id(), 0xabcdef);
    assert_true(same(m->server_id(), kServerDuid));
    assert_true(same(m->client_id(), cid));
    assert_true(m->status() == Dhcpv6Status::Success);
    assert_false(m->ia_na().has_value());
    // Information-request without a Server ID, then with ours.
    for (const std::string& msg : {cat({"0b 123457", kCid}), cat({"0b 123458", kCid, kOurSid})}) {
        assert_true(offer(udp_packet(hex(msg.c_str()))));
        m = sent_message();
        assert_true(m.has_value());
        assert_int_equal(m->msg_type(), kDhcpv6Reply);
        assert_true(same(m->server_id(), kServerDuid));
        assert_true(same(m->client_id(), cid));
        assert_false(m->status().has_value());
        assert_false(m->ia_na().has_value());
    }
    assert_int_equal(m->transaction_id(), 0x123458);
    assert_int_equal(g_sent.size(), 3);
    assert_int_equal(g_fx->responder.stats().answered, 3);
}

void test_responder_counts_send_errors(void**) {
    g_fx->send_ok = false;
    assert_true(offer(hex(rcvec::kDhcpcdSolicit)));
    assert_int_equal(g_fx->responder.stats().send_errors, 1);
    assert_int_equal(g_fx->responder.stats().answered, 0);
}

int teardown(void**) {
    Pkt().swap(g_pkt);
    Pkt().swap(g_msg);
    Pkt().swap(g_want);
    std::vector<Pkt>().swap(g_sent);
    return 0;
}

} // namespace

int main() {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_dhcpcd_messages),
        cmocka_unit_test(test_parse_our_answers),
        cmocka_unit_test(test_parse_dhcpv6_errors),
        cmocka_unit_test(test_check_client_message),
        cmocka_unit_test(test_build_matches_accepted_advertise),
        cmocka_unit_test(test_build_all_options),
        cmocka_unit_test(test_build_returns_client_ias),
        cmocka_unit_test(test_build_caps_client_ias),
        cmocka_unit_test(test_plan_answers),
        cmocka_unit_test_setup_teardown(test_responder_answers_like_before, setup_responder,
                                        teardown_responder),
        cmocka_unit_test_setup_teardown(test_responder_renew_rebind_release, setup_responder,
                                        teardown_responder),
        cmocka_unit_test_setup_teardown(test_responder_renew_other_address, setup_responder,
                                        teardown_responder),
        cmocka_unit_test_setup_teardown(test_responder_prefix_delegation, setup_responder,
                                        teardown_responder),
        cmocka_unit_test(test_build_caps_client_pds),
        cmocka_unit_test_setup_teardown(test_responder_passes_others, setup_responder,
                                        teardown_responder),
        cmocka_unit_test_setup_teardown(test_responder_drops_malformed, setup_responder,
                                        teardown_responder),
        cmocka_unit_test_setup_teardown(test_responder_ignores_others, setup_responder,
                                        teardown_responder),
        cmocka_unit_test_setup_teardown(test_responder_decline_information_request, setup_responder,
                                        teardown_responder),
        cmocka_unit_test_setup_teardown(test_responder_counts_send_errors, setup_responder,
                                        teardown_responder),
    };
    return cmocka_run_group_tests_name("dhcpv6", tests, nullptr, teardown);
}
