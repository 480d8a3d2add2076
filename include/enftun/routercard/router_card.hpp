// RouterCard: the responders that make enftun the IPv6 router fe80::1 of
// the link to the host behind the TUN (router-card mode): NDP (RS → RA,
// NS → NA, periodic RAs) and a one-address DHCPv6 server. They sit at the
// front of the egress path (TUN → tunnel): the client offers every packet
// read from the TUN to consume() before its egress filter, and what is
// consumed never reaches the router. Replies go back into the TUN.
//
// Always on, as in the original enftun: a host that is not interested in
// RAs or DHCPv6 simply ignores them.
//
// Answers to the host's messages (NA, DHCPv6) share one ReplyBudget:
// beyond it a message is dropped unanswered and counted (rate_limited).
//
// Lifetime: owned by the client, constructed after the TUN it writes to
// (through `send`) and destroyed before it. Timers: NdpResponder's one.
#pragma once

#include <cstdint>
#include <vector>

#include "enftun/config/client_config.hpp"
#include "enftun/loop/loop.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/routercard/dhcpv6_responder.hpp"
#include "enftun/routercard/ndp_responder.hpp"
#include "enftun/routercard/reply_budget.hpp"
#include "enftun/routercard/send_to_host.hpp"
#include "enftun/util/bytes.hpp"

namespace enftun::tunnel {

struct RouterCardOptions {
    NdpOptions ndp;
    proto::Ipv6Addr lease_addr;            // the tunnel's address
    std::vector<std::uint8_t> server_duid; // 3..130 bytes
};

// The options for `config`: routes from route.prefixes ("default" is a
// ::/0 Route Information option plus a router lifetime), MTU from tun.mtu,
// tun.lladdr, route.ra_period; the server DUID from identity.duid_file
// (created there on first use; see server_duid.hpp).
RouterCardOptions router_card_options(const config::ClientConfig& config,
                                      const proto::Ipv6Addr& self);

class RouterCard {
public:
    RouterCard(loop::Loop& loop, RouterCardOptions opts, SendToHost send);

    void start() { ndp_.start(); }
    // Sends the final RA (NdpResponder::stop) while the TUN is open.
    void stop() { ndp_.stop(); }
    void on_tunnel_up() { ndp_.on_tunnel_up(); }
    // route.ra_period changed (a config reload).
    void set_ra_period(std::uint64_t period_ms) { ndp_.set_ra_period(period_ms); }

    // Offers one packet read from the TUN. True if a responder consumed it
    // (answered, or dropped as malformed); the caller must then not forward
    // it. False: not for the router card, pass it on.
    bool consume(Bytes packet);

    const NdpStats& ndp_stats() const { return ndp_.stats(); }
    const Dhcpv6Stats& dhcpv6_stats() const { return dhcpv6_.stats(); }
    void log_stats() const;

private:
    bool may_reply();

    loop::Loop& loop_; // outlives the card
    ReplyBudget budget_;
    NdpResponder ndp_;
    Dhcpv6Responder dhcpv6_;
};

} // namespace enftun::tunnel
