#include "enftun/routercard/router_card.hpp"

#include "enftun/log/log.hpp"
#include "enftun/proto/ipv6.hpp"
#include "enftun/routercard/server_duid.hpp"

namespace enftun::tunnel {

RouterCardOptions router_card_options(const config::ClientConfig& config,
                                      const proto::Ipv6Addr& self) {
    RouterCardOptions o;
    for (const config::Prefix& p : config.route.prefixes) {
        // "default" is ::/0 (RFC 4191 §2.3 allows a ::/0 route); hosts
        // without RFC 4191 get it from the router lifetime instead.
        o.ndp.routes.push_back(
            {p.is_default ? proto::Ipv6Addr{} : p.addr, p.is_default ? std::uint8_t{0} : p.len});
        o.ndp.default_router = o.ndp.default_router || p.is_default;
    }
    o.ndp.mtu = config.tun.mtu;
    o.ndp.lladdr = config.tun.lladdr;
    o.ndp.ra_period_ms = static_cast<std::uint64_t>(config.route.ra_period.count());
    o.lease_addr = self;
    o.server_duid = load_or_create_server_duid(config.identity.duid_file);
    return o;
}

RouterCard::RouterCard(loop::Loop& loop, RouterCardOptions opts, SendToHost send)
    : loop_(loop), ndp_(loop, std::move(opts.ndp), send, [this] { return may_reply(); }),
      dhcpv6_(opts.lease_addr, std::move(opts.server_duid), std::move(send),
              [this] { return may_reply(); }) {}

bool RouterCard::may_reply() {
    return budget_.take(loop_.now_ms());
}

bool RouterCard::consume(Bytes packet) {
    auto ip = proto::parse_ipv6(packet);
    if (!ip) {
        return false; // not IPv6 or broken: the egress filter decides
    }
    return ndp_.consume(*ip) || dhcpv6_.consume(*ip);
}

void RouterCard::log_stats() const {
    const NdpStats& n = ndp_.stats();
    const Dhcpv6Stats& d = dhcpv6_.stats();
    ENFTUN_LOG_INFO(
        "router card: rs %llu ra %llu na %llu nd-malformed %llu nd-ignored %llu; dhcpv6 "
        "answered %llu malformed %llu ignored %llu; rate-limited %llu; send errors %llu",
        static_cast<unsigned long long>(n.rs_received), static_cast<unsigned long long>(n.ra_sent),
        static_cast<unsigned long long>(n.ns_answered),
        static_cast<unsigned long long>(n.malformed), static_cast<unsigned long long>(n.ignored),
        static_cast<unsigned long long>(d.answered), static_cast<unsigned long long>(d.malformed),
        static_cast<unsigned long long>(d.ignored),
        static_cast<unsigned long long>(n.rate_limited + d.rate_limited),
        static_cast<unsigned long long>(n.send_errors + d.send_errors));
}

} // namespace enftun::tunnel
