#include "enftun/router/router.hpp"

#include "enftun/conn/connector.hpp"
#include "enftun/log/log.hpp"
#include "enftun/netlink/link_config.hpp"
#include "enftun/proto/icmpv6.hpp"
#include "enftun/proto/ip.hpp"
#include "enftun/proto/ipv6.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace enftun::router {

namespace {

constexpr int kTunBatch = 64;
constexpr std::size_t kScratchSize = 65536;

std::uint64_t ms(std::chrono::milliseconds d) {
    return static_cast<std::uint64_t>(d.count());
}

Result<tun::TunDevice> open_router_tun(const config::RouterTunConfig& cfg) {
    auto tun = tun::TunDevice::open(cfg.dev_node, cfg.dev);
    if (!tun) {
        ENFTUN_LOG_ERROR("cannot open router TUN %s: %s: %s", cfg.dev.c_str(), tun.error().what,
                         strerror(tun.error().sys));
        return tun.error();
    }
    auto nl = netlink::LinkConfig::create();
    if (!nl) {
        ENFTUN_LOG_ERROR("%s: %s", nl.error().what, strerror(nl.error().sys));
        return nl.error();
    }
    Status st = nl->set_mtu_up(tun->ifindex(), cfg.mtu);
    if (st && cfg.address) {
        st = nl->add_address(tun->ifindex(), *cfg.address, 128);
    }
    for (const auto& route : cfg.routes) {
        if (!st) {
            break;
        }
        st = nl->add_route(tun->ifindex(), route.addr, route.len);
    }
    if (!st) {
        ENFTUN_LOG_ERROR("router TUN %s: %s: %s", cfg.dev.c_str(), st.error().what,
                         strerror(st.error().sys));
        return st.error();
    }
    return tun;
}

} // namespace

std::size_t Ipv6AddrHash::operator()(const proto::Ipv6Addr& a) const noexcept {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    std::memcpy(&hi, a.bytes.data(), 8);
    std::memcpy(&lo, a.bytes.data() + 8, 8);
    return std::hash<std::uint64_t>{}(hi ^ (lo * 0x9e3779b97f4a7c15ULL));
}

Result<std::unique_ptr<Router>> Router::create(loop::Loop& loop,
                                               const config::RouterConfig& config) {
    // A client may not claim the router's own addresses, nor (when set) an
    // address outside client_prefixes (tls/peer_policy.hpp).
    tls::PeerPolicy policy;
    policy.reserved_addresses.push_back(config.address);
    if (config.tun && config.tun->address) {
        policy.reserved_addresses.push_back(*config.tun->address);
    }
    for (const auto& p : config.client_prefixes) {
        policy.client_prefixes.push_back({p.addr, p.len});
    }
    auto tls = tls::TlsContext::create(tls::Role::Server,
                                       {config.ca_cert_file, config.cert_file, config.key_file},
                                       std::move(policy));
    if (!tls) {
        return tls.error();
    }
    std::optional<tun::TunDevice> tun;
    if (config.tun) {
        auto opened = open_router_tun(*config.tun);
        if (!opened) {
            return opened.error();
        }
        tun.emplace(std::move(*opened));
    }
    std::unique_ptr<Router> router(new Router(loop, config, std::move(*tls), std::move(tun)));
    if (!config.crl_file.empty()) {
        auto watch = CrlWatch::create(loop, router->tls_.get(), config.ca_cert_file,
                                      config.crl_file, [r = router.get()] { r->close_revoked(); });
        if (!watch) {
            return watch.error();
        }
        router->crl_watch_ = std::move(*watch);
    }
    for (const auto& address : config.listen) {
        auto listener =
            Listener::create(loop, address, config.port,
                             [r = router.get()](UniqueFd fd, const sockaddr_storage& peer) {
                                 r->on_accept(std::move(fd), peer);
                             });
        if (!listener) {
            ENFTUN_LOG_ERROR("cannot listen on %s port %u: %s: %s", address.c_str(), config.port,
                             listener.error().what, strerror(listener.error().sys));
            return listener.error();
        }
        ENFTUN_LOG_INFO("listening on %s", (*listener)->describe().c_str());
        router->listeners_.push_back(std::move(*listener));
    }
    return router;
}

Router::Router(loop::Loop& loop, const config::RouterConfig& config, tls::TlsContext tls,
               std::optional<tun::TunDevice> tun)
    : loop_(loop), config_(config), tls_(std::move(tls)), tun_(std::move(tun)),
      reaper_(loop,
              [this] {
                  on_batch_end();
                  graveyard_.clear();
              }),
      sweeper_(loop, [this] { sweep_idle(); }), busy_poll_(loop, config.busy_poll_us),
      scratch_(kScratchSize) {
    if (tun_) {
        tun_poll_ =
            std::make_unique<loop::Poll>(loop, tun_->fd(), [this](int, int) { on_tun_readable(); });
        tun_poll_->watch(UV_READABLE);
    }
    sweeper_.start(std::min<std::uint64_t>(ms(config_.idle_timeout) / 2, 5000));
}

Router::~Router() {
    // Sessions hold links whose handlers point at sessions: drop them first.
    sessions_.clear();
    graveyard_.clear();
}

void Router::stop() {
    stopping_ = true;
    listeners_.clear();
    tun_poll_.reset();
    sweeper_.stop();
    busy_poll_.stop();
    for (auto& s : sessions_) {
        s->link().shutdown();
    }
}

void Router::on_accept(UniqueFd fd, const sockaddr_storage& peer) {
    ++stats_.accepted;
    std::string name = conn::format_sockaddr(peer);
    if (sessions_.size() >= config_.max_sessions) {
        ++stats_.refused_full;
        ENFTUN_LOG_RATELIMITED(log::Level::Warn, "refusing %s: max_sessions (%u) reached",
                               name.c_str(), config_.max_sessions);
        return; // fd closes here
    }
    auto stream = tls::TlsStream::create(tls_, std::move(fd));
    if (!stream) {
        return;
    }
    tunnel::TlsLink::Options opts;
    opts.max_payload = config_.mtu;
    opts.write_capacity = config_.queue_limit;
    opts.handshake_timeout_ms = ms(config_.handshake_timeout);
    opts.release_idle_buffers = true;
    sessions_.push_back(
        std::make_unique<Session>(loop_, *this, std::move(*stream), std::move(name), opts));
    sessions_.back()->self = std::prev(sessions_.end());
    ENFTUN_LOG_DEBUG("accepted %s", sessions_.back()->peer().c_str());
}

void Router::on_session_up(Session& s) {
    auto addr = s.link().stream().peer_address();
    if (!addr) {
        ENFTUN_LOG_WARN("refusing %s: %s", s.peer().c_str(), addr.error().what);
        s.link().shutdown();
        retire(s);
        return;
    }
    if (auto it = by_address_.find(*addr); it != by_address_.end()) {
        Session& old = *it->second;
        ENFTUN_LOG_INFO("session for %s from %s replaced by %s", addr->to_string().c_str(),
                        old.peer().c_str(), s.peer().c_str());
        ++stats_.replaced;
        old.link().shutdown();
        old.unbind();
        retire(old);
    }
    s.bind(*addr);
    by_address_[*addr] = &s;
    ++stats_.sessions_up;
    ENFTUN_LOG_INFO("session up: %s from %s (%s)", addr->to_string().c_str(), s.peer().c_str(),
                    s.link().stream().describe().c_str());
}

void Router::on_session_down(Session& s, const char* reason) {
    if (s.link().protocol_error()) {
        ++stats_.protocol_errors; // TlsLink has logged which error
    }
    if (!s.link().up()) {
        ++stats_.handshake_failures;
        ENFTUN_LOG_WARN("handshake failed from %s: %s", s.peer().c_str(), reason);
    } else if (s.bound()) {
        ENFTUN_LOG_INFO("session closed: %s from %s: %s", s.address().to_string().c_str(),
                        s.peer().c_str(), reason);
    }
    retire(s);
}

void Router::retire(Session& s) {
    if (s.bound()) {
        if (auto it = by_address_.find(s.address()); it != by_address_.end() && it->second == &s) {
            by_address_.erase(it);
        }
        s.unbind();
    }
    // Keep the session alive until the reaper runs: we may be inside one of
    // its callbacks, and dirty_ may still point at it.
    graveyard_.push_back(std::move(*s.self));
    sessions_.erase(s.self);
    reaper_.start(0);
}

void Router::on_packet(Session& from, Bytes packet) {
    auto ip = proto::parse_ipv6(packet);
    if (!ip) {
        // The frame reader let only well-formed IPv4 or IPv6 through, so this
        // is IPv4 (say from a client with route.allow_ipv4). PROTOCOL.md
        // allows it on the wire, but the router routes IPv6 only, and IPv4
        // has no per-client address to check: drop and count it, and keep
        // the session, for this is no protocol error.
        ++stats_.dropped_not_ipv6;
        ENFTUN_LOG_RATELIMITED(log::Level::Debug, "drop from %s: not IPv6 (version %d)",
                               from.peer().c_str(), proto::ip_version(packet));
        return;
    }
    if (!from.bound() || ip->src() != from.address()) {
        ++stats_.dropped_spoofed;
        ENFTUN_LOG_RATELIMITED(log::Level::Debug, "drop from %s: source %s is not its address",
                               from.peer().c_str(), ip->src().to_string().c_str());
        return;
    }
    proto::Ipv6Addr dst = ip->dst();
    if (dst == proto::kRouterLinkLocal || dst == config_.address) {
        if (!answer_echo(from, packet)) {
            ++stats_.dropped_no_route;
        }
        return;
    }
    deliver(dst, packet);
}

bool Router::answer_echo(Session& from, Bytes packet) {
    auto ip = proto::parse_ipv6(packet);
    if (!ip || ip->next_header() != proto::kProtoIcmpv6) {
        return false;
    }
    auto icmp = proto::parse_icmpv6(*ip);
    if (!icmp || icmp->type() != proto::kIcmpv6EchoRequest) {
        return false;
    }
    auto len = proto::build_echo_reply(*icmp, *ip, ip->dst(), scratch_);
    if (!len || !from.link().writer().append_frame(Bytes(scratch_.data(), *len))) {
        ++stats_.dropped_queue_full;
        return true;
    }
    ++stats_.echo_replies;
    if (!from.dirty) {
        from.dirty = true;
        dirty_.push_back(&from);
    }
    return true;
}

void Router::deliver(const proto::Ipv6Addr& dst, Bytes packet) {
    if (auto it = by_address_.find(dst); it != by_address_.end()) {
        Session& to = *it->second;
        if (!to.link().writer().append_frame(packet)) {
            ++stats_.dropped_queue_full;
            ENFTUN_LOG_RATELIMITED(log::Level::Debug, "queue to %s full: dropping",
                                   dst.to_string().c_str());
            return;
        }
        ++stats_.forwarded;
        if (!to.dirty) {
            to.dirty = true;
            dirty_.push_back(&to);
        }
        return;
    }
    if (tun_) {
        if (auto n = tun_->write(packet); !n) {
            ++stats_.dropped_tun_error;
            return;
        }
        ++stats_.to_tun;
        return;
    }
    ++stats_.dropped_no_route;
}

void Router::on_batch_end() {
    // Clear, don't swap: dirty_ keeps its capacity, so a batch allocates
    // nothing once the vector has grown to the busiest batch. flush() queues
    // no packets, so nothing appends while we iterate; indexing would keep
    // even that safe.
    for (std::size_t i = 0; i < dirty_.size(); ++i) {
        Session* s = dirty_[i];
        s->dirty = false;
        if (!s->link().dead()) {
            s->link().flush();
        }
    }
    dirty_.clear();
}

// Busy-polling (router.busy_poll_us) counts the TUN as one side and all
// sessions together as the other: the hub's one thread sleeps or wakes for
// any of them, so it spins for ping-pong between a client and the TUN.
void Router::on_session_read_done(std::size_t frames) {
    on_batch_end();
    busy_poll_.on_event(tunnel::BusyPoller::Side::Link, frames);
}

void Router::on_tun_readable() {
    int packets = 0;
    // Past the batch only to empty an offloaded read (TunDevice::pending).
    for (int i = 0; i < kTunBatch || tun_->pending(); ++i) {
        // Ping-pong traffic (the last event brought one packet): send what
        // the first read queued before reading again, so the read that most
        // likely finds the queue empty is off the round trip.
        if (packets == 1 && tun_light_load_) {
            on_batch_end();
        }
        auto n = tun_->read(scratch_);
        if (!n) {
            break;
        }
        ++packets;
        Bytes packet(scratch_.data(), *n);
        auto ip = proto::parse_ipv6(packet);
        if (!ip) {
            ++stats_.dropped_not_ipv6; // IPv4 the host routed into the TUN
            continue;
        }
        if (auto it = by_address_.find(ip->dst()); it != by_address_.end()) {
            deliver(ip->dst(), packet);
        } else {
            ++stats_.dropped_no_route; // never back into the TUN it came from
        }
    }
    tun_light_load_ = packets <= 1;
    on_batch_end();
    busy_poll_.on_event(tunnel::BusyPoller::Side::Tun, static_cast<std::size_t>(packets));
}

void Router::sweep_idle() {
    std::uint64_t now = loop_.now_ms();
    std::uint64_t idle = ms(config_.idle_timeout);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        Session& s = **it++;
        if (s.link().up() && now - s.last_rx_ms() > idle) {
            ++stats_.idle_closed;
            ENFTUN_LOG_INFO("session closed: %s from %s: idle for %llu ms",
                            s.address().to_string().c_str(), s.peer().c_str(),
                            static_cast<unsigned long long>(now - s.last_rx_ms()));
            s.link().shutdown();
            retire(s);
        }
    }
    sweeper_.start(std::min<std::uint64_t>(idle / 2, 5000));
}

void Router::close_revoked() {
    if (!crl_watch_) {
        return; // the first load, from inside CrlWatch::create: no sessions yet
    }
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        Session& s = **it++;
        if (s.link().up() && crl_watch_->revoked(s.link().stream().peer_certificate())) {
            ENFTUN_LOG_INFO("session closed: %s from %s: certificate revoked",
                            s.address().to_string().c_str(), s.peer().c_str());
            s.link().shutdown();
            retire(s);
        }
    }
}

void Router::log_stats() const {
    ENFTUN_LOG_INFO(
        "stats: sessions %zu; accepted %llu refused-full %llu handshake-failures %llu up %llu "
        "replaced %llu idle-closed %llu; forwarded %llu to-tun %llu echo-replies %llu; dropped "
        "spoofed %llu no-route %llu queue-full %llu not-ipv6 %llu tun-error %llu; "
        "protocol-errors %llu; busy-poll spins %llu hits %llu",
        sessions_.size(), static_cast<unsigned long long>(stats_.accepted),
        static_cast<unsigned long long>(stats_.refused_full),
        static_cast<unsigned long long>(stats_.handshake_failures),
        static_cast<unsigned long long>(stats_.sessions_up),
        static_cast<unsigned long long>(stats_.replaced),
        static_cast<unsigned long long>(stats_.idle_closed),
        static_cast<unsigned long long>(stats_.forwarded),
        static_cast<unsigned long long>(stats_.to_tun),
        static_cast<unsigned long long>(stats_.echo_replies),
        static_cast<unsigned long long>(stats_.dropped_spoofed),
        static_cast<unsigned long long>(stats_.dropped_no_route),
        static_cast<unsigned long long>(stats_.dropped_queue_full),
        static_cast<unsigned long long>(stats_.dropped_not_ipv6),
        static_cast<unsigned long long>(stats_.dropped_tun_error),
        static_cast<unsigned long long>(stats_.protocol_errors),
        static_cast<unsigned long long>(busy_poll_.policy().spins()),
        static_cast<unsigned long long>(busy_poll_.policy().hits()));
}

} // namespace enftun::router
