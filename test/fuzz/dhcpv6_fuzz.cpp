// Fuzz target: parse_dhcpv6, check_client_message, the server-message
// builder and the UDP codec around it, and the router card's own
// Dhcpv6Responder (routercard/dhcpv6_responder.cpp, pure but for its
// SendToHost callback).
//
// Input: one DHCPv6 message (a UDP payload). A message that passes the
// server-side checks is answered the way the router card answers (Client
// ID and transaction ID echoed, a lease for its first IA_NA), wrapped in
// UDP/IPv6, and the answer must parse back with exactly those fields.
// Then the message goes, in UDP/IPv6 from a link-local client to
// ff02::1:2, through the real responder: it must count it exactly once,
// answer exactly when a server should (RFC 8415 §16, its Server ID or
// none), and what it writes must be one well-formed answer back to the
// client, no longer than the IPv6 minimum MTU.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "enftun/proto/dhcpv6.hpp"
#include "enftun/proto/ipv6.hpp"
#include "enftun/proto/udp.hpp"
#include "enftun/routercard/dhcpv6_responder.hpp"
#include "fuzz_check.hpp"

using namespace enftun;

namespace {

std::array<std::uint8_t, 4096> g_out;
// A DUID-UUID (RFC 6355) like the ones the router card makes.
constexpr std::array<std::uint8_t, 18> kServerDuid = {0x00, 0x04, 1,  2,  3,  4,  5,  6,  7,
                                                      8,    9,    10, 11, 12, 13, 14, 15, 16};
const proto::Ipv6Addr kLease{{0xfd, 0, 0, 0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5}};
const proto::Ipv6Addr kClient{{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}};

void check_view(const proto::Dhcpv6View& m, Bytes msg) {
    FUZZ_CHECK(m.transaction_id() <= 0xffffff);
    for (const auto* id : {&m.client_id(), &m.server_id()}) {
        if (*id) {
            FUZZ_CHECK((*id)->size() >= proto::kDuidMinLen && (*id)->size() <= proto::kDuidMaxLen);
            FUZZ_CHECK((*id)->data() >= msg.data() &&
                       (*id)->data() + (*id)->size() <= msg.data() + msg.size());
        }
    }
    FUZZ_CHECK(!m.ia_na() || m.has_ia());
}

proto::Dhcpv6ServerMessage plan(const proto::Dhcpv6View& m) {
    proto::Dhcpv6ServerMessage a;
    a.msg_type = m.rapid_commit() ? proto::kDhcpv6Reply : proto::kDhcpv6Advertise;
    a.transaction_id = m.transaction_id();
    a.server_id = kServerDuid;
    a.client_id = m.client_id().value_or(Bytes{});
    if (m.ia_na()) {
        a.lease = proto::Dhcpv6Lease{m.ia_na()->iaid, 1800, 2880, kLease, 3600, 7200};
        // The client's other addresses and IA_NAs come back too, capped.
        a.client_options = m.options();
        a.withdraw_other_addrs = true;
    } else {
        a.status = proto::Dhcpv6Status::NoAddrsAvail;
    }
    a.preference = 255;
    a.rapid_commit = m.rapid_commit();
    return a;
}

// Builds the answer into g_out as a UDP/IPv6 packet and reads it back.
void answer(const proto::Dhcpv6View& m) {
    const proto::Dhcpv6ServerMessage a = plan(m);
    proto::Udp6Builder b(g_out, {proto::kRouterLinkLocal, kClient, 547, 546}, 255);
    proto::build_dhcpv6_server_message(a, b.writer());
    auto len = b.finish();
    // Two DUIDs, one lease and kDhcpv6MaxReturned of each extra always fit.
    FUZZ_CHECK(len.has_value());
    auto ip = proto::parse_ipv6(Bytes(g_out).first(*len));
    FUZZ_CHECK(ip.has_value());
    auto udp = proto::parse_udp(*ip);
    FUZZ_CHECK(udp.has_value());
    auto back = proto::parse_dhcpv6(udp->payload());
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(back->msg_type() == a.msg_type);
    FUZZ_CHECK(back->transaction_id() == m.transaction_id());
    FUZZ_CHECK(back->server_id() && std::ranges::equal(*back->server_id(), kServerDuid));
    FUZZ_CHECK(back->client_id().has_value() == m.client_id().has_value());
    if (m.client_id()) {
        FUZZ_CHECK(std::ranges::equal(*back->client_id(), *m.client_id()));
    }
    FUZZ_CHECK(back->rapid_commit() == m.rapid_commit());
    FUZZ_CHECK(back->ia_na().has_value() == m.ia_na().has_value());
    if (m.ia_na()) {
        FUZZ_CHECK(back->ia_na()->iaid == m.ia_na()->iaid && back->ia_na()->addr == kLease);
    } else {
        FUZZ_CHECK(back->status() == proto::Dhcpv6Status::NoAddrsAvail);
    }
}

// The router card's DUID in the seeds (routercard_vectors.hpp), so the
// seeds' Requests and Renews are for this server.
const std::vector<std::uint8_t> kResponderDuid = {0x00, 0x04, 0x96, 0x67, 0x01, 0xe6,
                                                  0x42, 0xfd, 0x4c, 0x6e, 0xa8, 0x0b,
                                                  0x85, 0x8b, 0xeb, 0x91, 0xe0, 0x3f};
constexpr std::size_t kMinMtu = 1280; // RFC 8200 §5
std::array<std::uint8_t, proto::kIpv6HeaderLen + proto::kIpv6MaxPayload> g_query;
std::array<std::uint8_t, 2048> g_reply;
std::size_t g_reply_len = 0;
int g_replies = 0;

std::uint64_t counted(const tunnel::Dhcpv6Stats& s) {
    return s.answered + s.malformed + s.ignored + s.send_errors;
}

// Whether a server with kResponderDuid owes `m` an answer.
bool should_answer(const proto::Dhcpv6View& m) {
    return proto::check_client_message(m) &&
           (!m.server_id() || std::ranges::equal(*m.server_id(), kResponderDuid)) &&
           tunnel::plan_dhcpv6_answer(m, kLease, kResponderDuid).has_value();
}

void check_reply(const proto::Dhcpv6View& m) {
    FUZZ_CHECK(g_replies == 1 && g_reply_len <= kMinMtu);
    auto ip = proto::parse_ipv6(Bytes(g_reply).first(g_reply_len));
    FUZZ_CHECK(ip.has_value());
    FUZZ_CHECK(ip->src() == proto::kRouterLinkLocal && ip->dst() == kClient);
    auto udp = proto::parse_udp(*ip);
    FUZZ_CHECK(udp.has_value());
    FUZZ_CHECK(udp->src_port() == proto::kDhcpv6ServerPort &&
               udp->dst_port() == proto::kDhcpv6ClientPort);
    auto back = proto::parse_dhcpv6(udp->payload());
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(back->msg_type() == proto::kDhcpv6Advertise ||
               back->msg_type() == proto::kDhcpv6Reply);
    FUZZ_CHECK(back->transaction_id() == m.transaction_id());
    FUZZ_CHECK(back->server_id() && std::ranges::equal(*back->server_id(), kResponderDuid));
    FUZZ_CHECK(back->client_id().has_value() == m.client_id().has_value());
    if (back->ia_na()) {
        FUZZ_CHECK(back->ia_na()->addr == kLease);
    }
}

void respond(Bytes msg, const std::optional<proto::Dhcpv6View>& m) {
    if (msg.size() > proto::kIpv6MaxPayload - proto::kUdpHeaderLen) {
        return;
    }
    static tunnel::Dhcpv6Responder responder(kLease, kResponderDuid, [](Bytes p) {
        ++g_replies;
        g_reply_len = std::min(p.size(), g_reply.size());
        std::copy_n(p.begin(), g_reply_len, g_reply.begin());
        return true;
    });
    proto::Udp6Builder b(g_query,
                         {kClient, proto::kAllDhcpRelayAgentsAndServers, proto::kDhcpv6ClientPort,
                          proto::kDhcpv6ServerPort},
                         1);
    b.writer().put_bytes(msg);
    auto len = b.finish();
    FUZZ_CHECK(len.has_value());
    auto ip = proto::parse_ipv6(Bytes(g_query).first(*len));
    FUZZ_CHECK(ip.has_value());
    const std::uint64_t before = counted(responder.stats());
    g_replies = 0;
    FUZZ_CHECK(responder.consume(*ip));
    FUZZ_CHECK(counted(responder.stats()) == before + 1);
    FUZZ_CHECK((g_replies != 0) == (m && should_answer(*m)));
    if (g_replies != 0) {
        check_reply(*m);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const Bytes msg(data, size);
    auto m = proto::parse_dhcpv6(msg);
    if (!m) {
        FUZZ_CHECK(m.error().code == Errc::Truncated || m.error().code == Errc::Malformed);
        respond(msg, std::nullopt);
        return 0;
    }
    check_view(*m, msg);
    if (proto::check_client_message(*m)) {
        answer(*m);
    }
    respond(msg, *m);
    return 0;
}
