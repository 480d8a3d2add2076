#include "enftun/routercard/dhcpv6_responder.hpp"

#include <algorithm>

#include "enftun/log/log.hpp"
#include "enftun/proto/udp.hpp"

namespace enftun::tunnel {

namespace {

// RFC 8415 §18.2.1: a client takes an Advertise with preference 255 at once
// instead of collecting Advertises for a whole retransmission timeout.
constexpr std::uint8_t kMaxPreference = 255;
// Our answers are link-local and never forwarded (RFC 4291 §2.5.6); 255 as
// the original enftun sends.
constexpr std::uint8_t kReplyHopLimit = 255;

proto::Dhcpv6Lease lease_for(const proto::Dhcpv6IaNa& ia, const proto::Ipv6Addr& addr) {
    return {ia.iaid, kLeaseT1S, kLeaseT2S, addr, kLeasePreferredS, kLeaseValidS};
}

// Solicit, Request, Renew, Rebind: the lease for the client's first IA_NA,
// its other IA_NAs refused (NoAddrsAvail inside each), or NoAddrsAvail when
// it asked for none (RFC 8415 §18.3.1, §18.3.2). Renew and Rebind also
// return any other address of the first IA_NA with lifetimes 0 (§18.3.4,
// §18.3.5): the only address this link has is ours. The card delegates no
// prefix: each IA_PD comes back empty, with NoPrefixAvail inside to a
// Solicit or Request, NoBinding to a Renew or Rebind (there is none); a
// client that asked for prefixes only gets no top-level NoAddrsAvail,
// which is about IA_NAs (§18.3.1).
void offer_lease(proto::Dhcpv6ServerMessage& m, const proto::Dhcpv6View& msg,
                 const proto::Ipv6Addr& addr) {
    const bool renewing =
        msg.msg_type() == proto::kDhcpv6Renew || msg.msg_type() == proto::kDhcpv6Rebind;
    m.client_options = msg.options();
    if (msg.has_ia_pd()) {
        m.ia_pd_status =
            renewing ? proto::Dhcpv6Status::NoBinding : proto::Dhcpv6Status::NoPrefixAvail;
    }
    if (msg.ia_na()) {
        m.lease = lease_for(*msg.ia_na(), addr);
        m.withdraw_other_addrs = renewing;
    } else if (!msg.has_ia_pd()) {
        m.status = proto::Dhcpv6Status::NoAddrsAvail;
    }
}

bool is_for_a_server_here(const proto::Ipv6Addr& dst) {
    return dst == proto::kAllDhcpRelayAgentsAndServers || dst == proto::kRouterLinkLocal;
}

} // namespace

std::optional<proto::Dhcpv6ServerMessage> plan_dhcpv6_answer(const proto::Dhcpv6View& msg,
                                                             const proto::Ipv6Addr& lease_addr,
                                                             Bytes server_duid) {
    proto::Dhcpv6ServerMessage m;
    m.msg_type = proto::kDhcpv6Reply;
    m.transaction_id = msg.transaction_id();
    m.server_id = server_duid;
    m.client_id = msg.client_id().value_or(Bytes{});
    switch (msg.msg_type()) {
    case proto::kDhcpv6Solicit:
        if (msg.rapid_commit() && msg.ia_na()) {
            m.rapid_commit = true; // RFC 8415 §18.3.1: commit and Reply at once
        } else {
            m.msg_type = proto::kDhcpv6Advertise;
            m.preference = kMaxPreference;
        }
        offer_lease(m, msg, lease_addr);
        return m;
    case proto::kDhcpv6Request:
    case proto::kDhcpv6Renew:
    case proto::kDhcpv6Rebind:
        offer_lease(m, msg, lease_addr);
        return m;
    case proto::kDhcpv6Release:
    case proto::kDhcpv6Decline:
        m.status = proto::Dhcpv6Status::Success;
        return m;
    case proto::kDhcpv6Confirm: {
        // RFC 8415 §18.3.3: Success only if every address of every IA is
        // on the link (ours is its only one); none to judge: no reply.
        const auto on_link = proto::all_ia_addrs_are(msg, lease_addr);
        if (!on_link) {
            return std::nullopt;
        }
        m.status = *on_link ? proto::Dhcpv6Status::Success : proto::Dhcpv6Status::NotOnLink;
        return m;
    }
    case proto::kDhcpv6InformationRequest:
        return m;
    default:
        return std::nullopt;
    }
}

Dhcpv6Responder::Dhcpv6Responder(proto::Ipv6Addr lease_addr, std::vector<std::uint8_t> server_duid,
                                 SendToHost send, ReplyGate gate)
    : lease_addr_(lease_addr), duid_(std::move(server_duid)), send_(std::move(send)),
      gate_(std::move(gate)) {}

bool Dhcpv6Responder::consume(const proto::Ipv6View& ip) {
    const Bytes dgram = ip.payload();
    if (ip.next_header() != proto::kProtoUdp || !is_for_a_server_here(ip.dst()) ||
        dgram.size() < proto::kUdpDstPortOffset + 2 ||
        load_be16(dgram, proto::kUdpDstPortOffset) != proto::kDhcpv6ServerPort) {
        return false;
    }
    auto udp = proto::parse_udp(ip);
    auto msg = udp ? proto::parse_dhcpv6(udp->payload()) : Result<proto::Dhcpv6View>(udp.error());
    Status st = msg ? proto::check_client_message(*msg) : Status(msg.error());
    if (st && (ip.src().is_unspecified() || ip.src().is_multicast() || udp->src_port() == 0)) {
        // Port 0 is reserved (RFC 768 makes it "no port"): an answer to it
        // would go nowhere a DHCPv6 client listens.
        st = make_error(Errc::Malformed, "DHCPv6 message from an address we cannot answer");
    }
    if (!st) {
        ++(st.error().code == Errc::Unsupported ? stats_.ignored : stats_.malformed);
        ENFTUN_LOG_RATELIMITED(log::Level::Debug, "dropped a DHCPv6 message: %s", st.error().what);
        return true;
    }
    const auto& sid = msg->server_id();
    if (sid && !std::ranges::equal(*sid, duid_)) {
        ++stats_.ignored; // RFC 8415 §16: meant for another server
        return true;
    }
    auto m = plan_dhcpv6_answer(*msg, lease_addr_, duid_);
    if (!m) {
        ++stats_.ignored;
    } else if (gate_ && !gate_()) {
        ++stats_.rate_limited;
        ENFTUN_LOG_RATELIMITED(log::Level::Debug, "DHCPv6 message left unanswered: over the "
                                                  "router card's reply budget");
    } else {
        answer(ip, udp->src_port(), *m);
    }
    return true;
}

void Dhcpv6Responder::answer(const proto::Ipv6View& ip, std::uint16_t client_port,
                             const proto::Dhcpv6ServerMessage& m) {
    proto::Udp6Builder b(buf_,
                         {proto::kRouterLinkLocal, ip.src(), proto::kDhcpv6ServerPort, client_port},
                         kReplyHopLimit);
    proto::build_dhcpv6_server_message(m, b.writer());
    auto len = b.finish();
    if (!len) {
        // Cannot happen: two DUIDs of at most 130 bytes, one lease and the
        // capped extras (kDhcpv6MaxReturned) fit in 731 bytes.
        ENFTUN_LOG_RATELIMITED(log::Level::Error, "DHCPv6 answer: %s", len.error().what);
        return;
    }
    if (!send_(Bytes(buf_.data(), *len))) {
        ++stats_.send_errors;
        return;
    }
    ++stats_.answered;
    // One line per message from the host: rate-limited like the data path.
    ENFTUN_LOG_RATELIMITED(log::Level::Debug, "DHCPv6: answered message type %u",
                           static_cast<unsigned>(m.msg_type));
}

} // namespace enftun::tunnel
