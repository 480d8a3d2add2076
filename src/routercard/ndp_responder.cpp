#include "enftun/routercard/ndp_responder.hpp"

#include <algorithm>
#include <random>

#include "enftun/log/log.hpp"
#include "enftun/proto/icmpv6.hpp"
#include "enftun/proto/ipv6_ext.hpp"

namespace enftun::tunnel {

namespace {

// RFC 4861 §6.2.1 suggests lifetimes of about 3 × MaxRtrAdvInterval, so one
// or two lost RAs do not make the host drop our routes.
constexpr std::uint64_t kLifetimeFactor = 3;
// RFC 4191 §2.3: 0xffffffff means infinity; stay below it.
constexpr std::uint64_t kMaxRouteLifetimeS = 0xfffffffeu;
// RFC 8319 §4 raised AdvDefaultLifetime's limit from 9000 to 65535 s.
constexpr std::uint64_t kMaxRouterLifetimeS = 0xffffu;

// The RA's fixed size before any Route Information option.
std::size_t ra_base_len(const NdpOptions& opts) {
    return proto::kIpv6HeaderLen + proto::kNdRaLen + (opts.mtu != 0 ? proto::kNdOptMtuLen : 0) +
           (opts.lladdr ? proto::kNdOptLinkAddrLen : 0);
}

RaRandom default_random() {
    std::random_device seed;
    return [gen = std::minstd_rand(seed())](std::uint64_t bound) mutable {
        return std::uniform_int_distribution<std::uint64_t>(0, bound)(gen);
    };
}

std::uint64_t lifetime_s(std::uint64_t period_ms, std::uint64_t cap) {
    const std::uint64_t s = (kLifetimeFactor * period_ms + 999) / 1000;
    return std::clamp<std::uint64_t>(s, 1, cap);
}

} // namespace

proto::RaParams make_ra_params(const NdpOptions& opts, std::vector<proto::RouteInfo>& routes) {
    const std::size_t room = (kRaBufferLen - ra_base_len(opts)) / proto::kNdOptRouteInfoLen;
    if (opts.routes.size() > room) {
        ENFTUN_LOG_WARN("router advertisement: only %zu of %zu route prefixes fit; "
                        "the rest are not advertised",
                        room, opts.routes.size());
    }
    const auto route_lifetime =
        static_cast<std::uint32_t>(lifetime_s(opts.ra_period_ms, kMaxRouteLifetimeS));
    routes.clear();
    for (std::size_t i = 0; i < opts.routes.size() && i < room; ++i) {
        routes.push_back({opts.routes[i].prefix, opts.routes[i].prefix_len,
                          proto::RouterPreference::High, route_lifetime});
    }
    proto::RaParams p;
    p.src = proto::kRouterLinkLocal;
    p.dst = proto::kAllNodes;
    p.flags = proto::kRaFlagManaged; // no SLAAC: the address comes from DHCPv6
    p.preference = proto::RouterPreference::High;
    p.router_lifetime_s =
        opts.default_router
            ? static_cast<std::uint16_t>(lifetime_s(opts.ra_period_ms, kMaxRouterLifetimeS))
            : 0;
    p.mtu = opts.mtu;
    p.lladdr = opts.lladdr;
    p.routes = routes;
    return p;
}

proto::RaParams make_final_ra_params(const proto::RaParams& ra,
                                     std::vector<proto::RouteInfo>& routes) {
    routes.assign(ra.routes.begin(), ra.routes.end());
    for (proto::RouteInfo& r : routes) {
        r.lifetime_s = 0;
    }
    proto::RaParams p = ra;
    p.router_lifetime_s = 0;
    p.routes = routes;
    return p;
}

NdpResponder::NdpResponder(loop::Loop& loop, NdpOptions opts, SendToHost send, ReplyGate gate)
    : loop_(loop), ra_params_(make_ra_params(opts, routes_)), send_(std::move(send)),
      gate_(std::move(gate)), ra_max_delay_ms_(opts.ra_max_delay_ms),
      random_(opts.random ? std::move(opts.random) : default_random()),
      schedule_(opts.ra_period_ms, opts.ra_min_gap_ms), timer_(loop, [this] { on_timer(); }) {}

void NdpResponder::start() {
    running_ = true;
    trigger();
}

// RFC 4861 §6.2.5: a router that stops advertising SHOULD send final RAs
// with router lifetime 0. One is enough on a TUN, which does not lose
// packets; on a persistent TUN the host keeps the link, so without it the
// routes would linger with their lifetimes of 3 × ra_period.
void NdpResponder::stop() {
    if (running_) {
        std::vector<proto::RouteInfo> routes;
        if (send_ra(make_final_ra_params(ra_params_, routes))) {
            ENFTUN_LOG_INFO("final router advertisement: routes and default router withdrawn");
        }
    }
    running_ = false;
    timer_.stop();
}

void NdpResponder::on_tunnel_up() {
    trigger();
}

void NdpResponder::set_ra_period(std::uint64_t period_ms) {
    const auto route_lifetime =
        static_cast<std::uint32_t>(lifetime_s(period_ms, kMaxRouteLifetimeS));
    for (proto::RouteInfo& r : routes_) { // ra_params_.routes points here
        r.lifetime_s = route_lifetime;
    }
    if (ra_params_.router_lifetime_s != 0) { // a default router stays one
        ra_params_.router_lifetime_s =
            static_cast<std::uint16_t>(lifetime_s(period_ms, kMaxRouterLifetimeS));
    }
    schedule_.set_period(period_ms);
    trigger();
}

void NdpResponder::trigger() {
    schedule_.request();
    arm();
}

void NdpResponder::arm() {
    if (!running_) {
        return;
    }
    const auto deadline = schedule_.next_deadline();
    if (!deadline) {
        timer_.stop();
        return;
    }
    const std::uint64_t now = loop_.now_ms();
    timer_.start(*deadline > now ? *deadline - now : 0);
}

void NdpResponder::on_timer() {
    if (schedule_.due(loop_.now_ms())) {
        if (auto len = send_ra(ra_params_)) {
            ENFTUN_LOG_DEBUG("router advertisement sent (%zu bytes)", *len);
        }
        schedule_.on_sent(loop_.now_ms());
    }
    arm();
}

std::optional<std::size_t> NdpResponder::send_ra(const proto::RaParams& params) {
    auto len = proto::build_router_advertisement(params, ra_buf_);
    if (!len) {
        // Cannot happen: make_ra_params keeps the RA within the buffer.
        ENFTUN_LOG_ERROR("router advertisement: %s", len.error().what);
        return std::nullopt;
    }
    if (!send_(Bytes(ra_buf_.data(), *len))) {
        ++stats_.send_errors;
        return std::nullopt;
    }
    ++stats_.ra_sent;
    return *len;
}

bool NdpResponder::consume(const proto::Ipv6View& ip) {
    const Bytes msg = ip.payload();
    if (ip.next_header() != proto::kProtoIcmpv6) {
        return consume_wrapped(ip);
    }
    if (msg.empty() || !proto::is_nd_type(msg[0])) {
        return false;
    }
    if (msg[0] != proto::kIcmpv6RouterSolicitation &&
        msg[0] != proto::kIcmpv6NeighborSolicitation) {
        ignore(msg[0]); // RA, NA, Redirect: the host is no router of ours
        return true;
    }
    auto icmp = proto::parse_icmpv6(ip);
    auto nd = icmp ? proto::parse_nd(ip, *icmp) : Result<proto::NdView>(icmp.error());
    if (!nd) {
        ++stats_.malformed;
        ENFTUN_LOG_RATELIMITED(log::Level::Debug, "dropped a neighbor discovery message: %s",
                               nd.error().what);
        return true;
    }
    if (nd->type() == proto::kIcmpv6RouterSolicitation) {
        ++stats_.rs_received;
        schedule_.solicit(loop_.now_ms(), random_(ra_max_delay_ms_));
        arm();
        return true;
    }
    if (nd->target() != proto::kRouterLinkLocal) {
        ignore(nd->type()); // no one else is on this link to answer it
        return true;
    }
    answer_ns(ip);
    return true;
}

// RFC 4861 allows extension headers before an ND message and RFC 6980
// forbids fragmenting one. The card answers neither (Linux sends neither),
// but leaves neither to the egress filter: they are ND all the same.
bool NdpResponder::consume_wrapped(const proto::Ipv6View& ip) {
    const auto type = proto::nd_type(ip);
    if (!type) {
        return false;
    }
    ignore(*type);
    return true;
}

// An ND message we do not answer: dropped here rather than left to the
// egress filter, which would pass it on when it comes from our address.
void NdpResponder::ignore(std::uint8_t type) {
    ++stats_.ignored;
    ENFTUN_LOG_RATELIMITED(log::Level::Debug,
                           "dropped a neighbor discovery message of type %u from the host",
                           static_cast<unsigned>(type));
}

// RFC 4861 §7.2.4: to the soliciting node, Solicited flag set; to all
// nodes, without it, when the NS came from :: (a DAD probe). Router flag:
// we are a router; Override: fe80::1 belongs to us alone.
void NdpResponder::answer_ns(const proto::Ipv6View& ip) {
    if (gate_ && !gate_()) {
        ++stats_.rate_limited;
        ENFTUN_LOG_RATELIMITED(log::Level::Debug, "neighbor solicitation left unanswered: "
                                                  "over the router card's reply budget");
        return;
    }
    proto::NaParams p;
    p.src = proto::kRouterLinkLocal;
    p.target = proto::kRouterLinkLocal;
    p.lladdr = ra_params_.lladdr;
    p.flags = proto::kNaFlagRouter | proto::kNaFlagOverride;
    if (ip.src().is_unspecified()) {
        p.dst = proto::kAllNodes;
    } else {
        p.dst = ip.src();
        p.flags |= proto::kNaFlagSolicited;
    }
    auto len = proto::build_neighbor_advertisement(p, na_buf_);
    if (!len) {
        ENFTUN_LOG_RATELIMITED(log::Level::Error, "neighbor advertisement: %s", len.error().what);
        return;
    }
    if (!send_(Bytes(na_buf_.data(), *len))) {
        ++stats_.send_errors;
        return;
    }
    ++stats_.ns_answered;
}

} // namespace enftun::tunnel
