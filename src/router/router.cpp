#include "enftun/router/router.hpp"

#include "enftun/conn/connector.hpp"
#include "enftun/conn/tcp_liveness.hpp"
#include "enftun/link/super_packet.hpp"
#include "enftun/log/log.hpp"
#include "enftun/netlink/link_config.hpp"
#include "enftun/proto/icmpv6.hpp"
#include "enftun/proto/ip.hpp"
#include "enftun/proto/ipv6.hpp"
#include "enftun/router/client_route.hpp"
#include "enftun/tls/alpn.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace enftun::router {

namespace {

constexpr int kTunBatch = 64;
constexpr std::size_t kScratchSize = 65536;
// How often first_byte_timeout is enforced and the failure summary checked,
// while there is anything unauthenticated or unsummarised.
constexpr std::uint64_t kHousekeepingMs = 250;
// Largest handshake message (a client's Certificate chain) OpenSSL buffers
// for a peer; its default is 100 KiB. A client chain of our PKI is 1-3 KiB.
constexpr long kMaxCertList = 32768;

// TCP_USER_TIMEOUT of every accepted socket: what the router sends a peer
// that stays unacknowledged this long ends the session (ETIMEDOUT). A client
// whose path died silently (it moved to another router) otherwise keeps a
// session here, and its route, for idle_timeout (7 minutes by default),
// while packets for it go into a connection nobody reads. The client's own
// default (conn/tcp_liveness.hpp: twice its 15 s heartbeat_timeout). Linux
// (5.11 on) counts a receive window shut that long too: a peer that stopped
// reading is closed after it, where its queue would only drop.
constexpr std::uint32_t kSessionUserTimeoutMs = 30000;

// The context's read-ahead buffer (tls_context.cpp: four full records).
constexpr long kEstablishedReadBuffer = 4 * (16384 + 256 + 5);

// Unauthenticated peers get OpenSSL's smallest read buffer (one record,
// ~18 KiB) instead of the context's four-record read-ahead buffer (~66 KiB):
// OpenSSL allocates its buffers when the handshake starts, right after this
// callback. Once the handshake is done the default comes back; the small
// buffer is replaced when it next runs empty (SSL_MODE_RELEASE_BUFFERS and
// TlsLink's release of idle buffers free it).
void on_tls_info(const SSL* ssl, int where, int) noexcept {
    if ((where & SSL_CB_HANDSHAKE_START) != 0 && !SSL_is_init_finished(ssl)) {
        SSL_set_default_read_buffer_len(const_cast<SSL*>(ssl), 0);
    } else if ((where & SSL_CB_HANDSHAKE_DONE) != 0) {
        SSL_set_default_read_buffer_len(const_cast<SSL*>(ssl), kEstablishedReadBuffer);
    }
}

// "[fd00::2]:40000" -> "fd00::2"; "198.18.0.1:40000" -> "198.18.0.1".
std::string address_of(const std::string& peer) {
    if (!peer.empty() && peer.front() == '[') {
        return peer.substr(1, peer.find(']') - 1);
    }
    return peer.substr(0, peer.rfind(':'));
}

std::uint64_t ms(std::chrono::milliseconds d) {
    return static_cast<std::uint64_t>(d.count());
}

// One packet of `bytes` for a session's figures and the router's totals.
void count(Traffic& session, Traffic& total, std::size_t bytes) {
    ++session.packets;
    session.bytes += bytes;
    ++total.packets;
    total.bytes += bytes;
}

Result<tun::TunDevice> open_router_tun(const config::RouterTunConfig& cfg, bool ipv4) {
    auto tun = tun::TunDevice::open(cfg.dev_node, cfg.dev, {.offload = cfg.offload, .tso4 = ipv4});
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

Result<tls::TlsContext> Router::make_tls(const config::RouterConfig& config) {
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
    policy.client_ipv4_prefixes = config.ipv4_client_prefixes;
    auto tls = tls::TlsContext::create(tls::Role::Server,
                                       {config.ca_cert_file, config.cert_file, config.key_file},
                                       std::move(policy));
    if (tls) {
        SSL_CTX_set_max_cert_list(tls->get(), kMaxCertList);
        SSL_CTX_set_info_callback(tls->get(), on_tls_info);
        tls::accept_protocols(tls->get(), config.protocol);
    }
    return tls;
}

Result<std::unique_ptr<Router>> Router::create(loop::Loop& loop,
                                               const config::RouterConfig& config) {
    auto tls = make_tls(config);
    if (!tls) {
        return tls.error();
    }
    std::optional<tun::TunDevice> tun;
    if (config.tun) {
        auto opened = open_router_tun(*config.tun, !config.ipv4_client_prefixes.empty());
        if (!opened) {
            return opened.error();
        }
        tun.emplace(std::move(*opened));
    }
    std::unique_ptr<Router> router(new Router(loop, config, std::move(*tls), std::move(tun)));
    if (router->tun_) {
        auto routes = SessionRoutes::create(
            loop, {router->tun_->ifindex(), config.tun->route_protocol, config.tun->route_table},
            config.tun->route_record);
        if (!routes) {
            return routes.error();
        }
        router->session_routes_ = std::move(*routes);
    }
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
      budget_({config.max_handshakes, config.max_handshakes_per_source,
               ms(std::min(config.first_byte_timeout, config.handshake_timeout))}),
      reaper_(loop,
              [this] {
                  on_batch_end();
                  auto ready = std::move(ready_);
                  ready_.clear();
                  for (auto& p : ready) {
                      start_handshake(std::move(p));
                  }
              }),
      dead_sessions_(loop), dead_preludes_(loop), sweeper_(loop, [this] { sweep_idle(); }),
      housekeeper_(loop, [this] { housekeeping(); }), busy_poll_(loop, config.busy_poll_us),
      scratch_(kScratchSize) {
    counters_.started_ms = loop.now_ms();
    if (tun_) {
        tun_poll_ =
            std::make_unique<loop::Poll>(loop, tun_->fd(), [this](int, int) { on_tun_readable(); });
        tun_poll_->watch(UV_READABLE);
    }
    sweeper_.start(std::min<std::uint64_t>(ms(config_.idle_timeout) / 2, 5000));
}

Router::~Router() {
    // Sessions hold links whose handlers point at sessions: drop them first.
    handshaking_.clear();
    sessions_.clear();
    preludes_.clear();
    ready_.clear();
    dead_sessions_.clear();
    dead_preludes_.clear();
}

void Router::stop() {
    stopping_ = true;
    if (session_routes_) {
        session_routes_->stop(); // other routers take over at once
    }
    listeners_.clear();
    tun_poll_.reset();
    sweeper_.stop();
    busy_poll_.stop();
    housekeeper_.stop();
    for (auto& [id, p] : preludes_) {
        p->stop();
    }
    for (auto& s : sessions_) {
        s->link().shutdown();
    }
}

void Router::on_accept(UniqueFd fd, const sockaddr_storage& peer) {
    ++stats_.accepted;
    std::string name = conn::format_sockaddr(peer);
    // No max_sessions check here: who the peer is shows only after its
    // handshake, and a client whose old session is still up (its link went
    // silent) must be able to replace it when the router is full
    // (on_session_up). The handshake budget bounds what this costs.
    std::uint64_t now = loop_.now_ms();
    auto admission = budget_.admit(source_key(peer), now);
    if (!admission.admitted) {
        ++stats_.refused_source;
        ENFTUN_LOG_DEBUG("refusing %s: max_handshakes_per_source (%u) reached", name.c_str(),
                         config_.max_handshakes_per_source);
        handshake_failed(address_of(name), "per-source cap", HandshakeFailure::PerSourceCap);
        return;
    }
    if (admission.evicted) {
        evict(*admission.evicted);
    }
    if (auto st = conn::apply_tcp_liveness(fd.get(), {.user_timeout_ms = kSessionUserTimeoutMs});
        !st) {
        ENFTUN_LOG_RATELIMITED(log::Level::Warn, "%s: %s: %s", name.c_str(), st.error().what,
                               strerror(st.error().sys));
    }
    std::string source = address_of(name);
    auto prelude = std::make_unique<Prelude>(
        loop_, std::move(fd), std::move(name), std::move(source), admission.id, now,
        [this](Prelude& p, Prelude::Outcome outcome) { on_prelude_done(p, outcome); });
    ENFTUN_LOG_DEBUG("accepted %s", prelude->peer().c_str());
    preludes_.emplace(admission.id, std::move(prelude));
    arm_housekeeping();
}

// Called from the prelude's poll callback: it is moved out of preludes_
// but destroyed (or handed on) only from the reaper.
void Router::on_prelude_done(Prelude& p, Prelude::Outcome outcome) {
    auto it = preludes_.find(p.id());
    if (it == preludes_.end()) {
        return;
    }
    std::unique_ptr<Prelude> owned = std::move(it->second);
    preludes_.erase(it);
    reaper_.start(0);
    if (outcome == Prelude::Outcome::Ready) {
        budget_.first_bytes(owned->id());
        ready_.push_back(std::move(owned));
        return;
    }
    budget_.release(owned->id());
    const char* reason = "closed before TLS";
    HandshakeFailure kind = HandshakeFailure::ClosedBeforeTls;
    if (outcome == Prelude::Outcome::NotTls) {
        ++stats_.bad_hello;
        reason = "not a TLS ClientHello";
        kind = HandshakeFailure::NotTls;
    } else if (outcome == Prelude::Outcome::TooLarge) {
        ++stats_.bad_hello;
        reason = "ClientHello too large";
        kind = HandshakeFailure::HelloTooLarge;
    }
    ENFTUN_LOG_DEBUG("closing %s: %s", owned->peer().c_str(), reason);
    handshake_failed(owned->source(), reason, kind);
    dead_preludes_.bury(std::move(owned));
}

// From the reaper: the prelude's poll is closed before the link's watches
// the same socket (libuv allows one poll per fd).
void Router::start_handshake(std::unique_ptr<Prelude> p) {
    HandshakeBudget::Id id = p->id();
    std::string name = p->peer();
    std::string source = p->source();
    std::uint64_t elapsed = loop_.now_ms() - p->accepted_ms();
    UniqueFd fd = p->take_fd();
    p.reset();
    if (stopping_) {
        return;
    }
    auto stream = tls::TlsStream::create(tls_, std::move(fd));
    if (!stream) {
        budget_.release(id);
        return;
    }
    tunnel::TlsLink::Options opts;
    opts.max_payload = config_.mtu;
    opts.write_capacity = config_.queue_limit;
    // handshake_timeout counts from accept, the prelude's wait included.
    opts.handshake_timeout_ms =
        ms(config_.handshake_timeout) > elapsed ? ms(config_.handshake_timeout) - elapsed : 1;
    opts.release_idle_buffers = true;
    opts.limit_handshake_logs = true;
    sessions_.push_back(
        std::make_unique<Session>(loop_, *this, std::move(*stream), std::move(name), opts));
    Session& s = *sessions_.back();
    s.self_ = std::prev(sessions_.end());
    s.budget_id = id;
    s.source = std::move(source);
    handshaking_[id] = &s;
}

// The budget dropped its oldest entry to admit a new one: close it.
void Router::evict(HandshakeBudget::Id id) {
    ++stats_.evicted;
    if (auto it = handshaking_.find(id); it != handshaking_.end()) {
        Session& s = *it->second;
        ENFTUN_LOG_DEBUG("evicting %s: max_handshakes (%u) reached", s.peer().c_str(),
                         config_.max_handshakes);
        handshake_failed(s.source, "evicted", HandshakeFailure::Evicted);
        s.link().shutdown();
        retire(s); // erases it from handshaking_
        return;
    }
    for (std::size_t i = 0; i < ready_.size(); ++i) {
        if (ready_[i]->id() == id) { // its handshake was about to start
            handshake_failed(ready_[i]->source(), "evicted", HandshakeFailure::Evicted);
            dead_preludes_.bury(std::move(ready_[i]));
            ready_.erase(ready_.begin() + static_cast<std::ptrdiff_t>(i));
            return;
        }
    }
    if (auto it = preludes_.find(id); it != preludes_.end()) {
        ENFTUN_LOG_DEBUG("evicting %s: max_handshakes (%u) reached", it->second->peer().c_str(),
                         config_.max_handshakes);
        handshake_failed(it->second->source(), "evicted", HandshakeFailure::Evicted);
        drop_prelude(id);
    }
}

// Closes a prelude that is not in a callback of its own (eviction, timeout).
void Router::drop_prelude(HandshakeBudget::Id id) {
    auto it = preludes_.find(id);
    if (it == preludes_.end()) {
        return;
    }
    it->second->stop();
    dead_preludes_.bury(std::move(it->second));
    preludes_.erase(it);
    reaper_.start(0);
}

void Router::handshake_failed(const std::string& source, const char* reason,
                              HandshakeFailure kind) {
    counters_.failed(kind);
    failures_.record(source, reason, loop_.now_ms());
    arm_housekeeping();
}

bool Router::log_session(const Session& s, ChurnLog::Kind kind) {
    if (!log::enabled(log::Level::Info)) {
        return false;
    }
    if (churn_.allow(s.address().to_string(), kind, loop_.now_ms())) {
        return true;
    }
    arm_housekeeping(); // for the summary
    return false;
}

void Router::arm_housekeeping() {
    if (!housekeeper_.active() && !stopping_) {
        housekeeper_.start(kHousekeepingMs);
    }
}

void Router::housekeeping() {
    std::uint64_t now = loop_.now_ms();
    for (HandshakeBudget::Id id : budget_.expire(now)) {
        if (auto it = preludes_.find(id); it != preludes_.end()) {
            ++stats_.first_byte_timeouts;
            counters_.failed(HandshakeFailure::FirstByteTimeout);
            ENFTUN_LOG_DEBUG("closing %s: no ClientHello within first_byte_timeout",
                             it->second->peer().c_str());
            failures_.record(it->second->source(), "first-byte timeout", now);
            drop_prelude(id);
        }
    }
    if (auto line = failures_.take(now)) {
        ENFTUN_LOG_WARN("%s", line->c_str());
    }
    if (auto line = churn_.take(now)) {
        ENFTUN_LOG_INFO("%s", line->c_str());
    }
    if (budget_.size() > 0 || failures_.pending() || churn_.pending()) {
        housekeeper_.start(kHousekeepingMs);
    }
}

void Router::on_session_up(Session& s) {
    if (s.budget_id != 0) {
        budget_.release(s.budget_id);
        handshaking_.erase(s.budget_id);
        s.budget_id = 0;
    }
    auto addr = s.link().stream().peer_address();
    if (!addr) {
        ENFTUN_LOG_RATELIMITED(log::Level::Warn, "refusing %s: %s", s.peer().c_str(),
                               addr.error().what);
        counters_.failed(HandshakeFailure::Certificate);
        s.link().shutdown();
        retire(s);
        return;
    }
    // Its handshake verified the chain against the CRL of the context it
    // began on; a reload since (router_reload.cpp) may have brought a CRL
    // that lists it, and close_revoked() ran before it was up.
    if (crl_watch_ && crl_watch_->revoked(s.link().stream().peer_certificate())) {
        ENFTUN_LOG_RATELIMITED(log::Level::Warn,
                               "refusing %s: certificate revoked during its handshake",
                               s.peer().c_str());
        counters_.failed(HandshakeFailure::Certificate);
        s.link().shutdown();
        retire(s);
        return;
    }
    std::optional<proto::Ipv4Addr> ipv4;
    if (!accept_ipv4(s, ipv4)) {
        return; // refused and retired, its reason logged
    }
    auto it = by_address_.find(*addr);
    if (it == by_address_.end() && by_address_.size() >= config_.max_sessions) {
        ++stats_.refused_full;
        ENFTUN_LOG_RATELIMITED(log::Level::Warn, "refusing %s: max_sessions (%u) reached",
                               s.peer().c_str(), config_.max_sessions);
        s.link().shutdown();
        retire(s);
        return;
    }
    if (it != by_address_.end()) {
        Session& old = *it->second;
        if (log_session(old, ChurnLog::Kind::Replaced)) {
            ENFTUN_LOG_INFO("session for %s from %s replaced by %s", addr->to_string().c_str(),
                            old.peer().c_str(), s.peer().c_str());
        }
        ++stats_.replaced;
        old.link().shutdown();
        old.unbind();
        retire(old);
    }
    s.bind(*addr);
    by_address_[*addr] = &s;
    if (ipv4) {
        bind_ipv4(s, *ipv4);
    }
    if (session_routes_) {
        session_routes_->add(*addr);
    }
    ++stats_.sessions_up;
    if (log_session(s, ChurnLog::Kind::Up)) {
        ENFTUN_LOG_INFO("session up: %s from %s (%s)", addr->to_string().c_str(), s.peer().c_str(),
                        s.link().stream().describe().c_str());
    }
    if (on_sessions_changed_) {
        on_sessions_changed_();
    }
}

void Router::on_session_down(Session& s, const char* reason) {
    if (s.link().protocol_error()) {
        ++stats_.protocol_errors; // TlsLink has logged which error
    }
    if (!s.link().up()) {
        // Summarised (failure_summary.hpp): a flood must not flood the log.
        ++stats_.handshake_failures;
        ENFTUN_LOG_DEBUG("handshake failed from %s: %s", s.peer().c_str(), reason);
        handshake_failed(s.source, reason,
                         classify_link_failure(reason, !s.link().stream().refusal().empty()));
    } else if (s.bound() && log_session(s, ChurnLog::Kind::Closed)) {
        ENFTUN_LOG_INFO("session closed: %s from %s: %s", s.address().to_string().c_str(),
                        s.peer().c_str(), reason);
    }
    retire(s);
}

void Router::retire(Session& s) {
    if (s.budget_id != 0) {
        budget_.release(s.budget_id);
        handshaking_.erase(s.budget_id);
        s.budget_id = 0;
    }
    // Whether or not still bound by IPv6 (a replaced session is unbound first).
    unbind_ipv4(s);
    if (s.bound()) {
        if (auto it = by_address_.find(s.address()); it != by_address_.end() && it->second == &s) {
            by_address_.erase(it);
            if (session_routes_) {
                session_routes_->remove(s.address());
            }
            if (on_sessions_changed_) {
                on_sessions_changed_();
            }
        }
        s.unbind();
    }
    // Its queue goes nowhere now: off the dirty list, so that no pointer
    // to it outlives this call.
    if (s.dirty_) {
        s.dirty_ = false;
        std::erase(dirty_, &s);
    }
    // Alive until the loop's next turn: we may be inside one of its callbacks.
    dead_sessions_.bury(std::move(*s.self_));
    sessions_.erase(s.self_);
    reaper_.start(0);
}

void Router::on_packet(Session& from, Bytes packet, const framing::GsoMeta* gso) {
    count(from.rx, counters_.from_clients, packet.size());
    auto ip = proto::parse_ipv6(packet);
    if (!ip) {
        // The frame reader let only well-formed IPv4 or IPv6 through, so this
        // is IPv4 (say from a client with route.allow_ipv4): router_ipv4.cpp.
        on_ipv4_packet(from, packet, gso);
        return;
    }
    if (!from.bound() || ip->src() != from.address()) {
        ++stats_.dropped_spoofed;
        ENFTUN_LOG_RATELIMITED(log::Level::Debug, "drop from %s: source %s is not its address",
                               from.peer().c_str(), ip->src().to_string().c_str());
        return;
    }
    proto::Ipv6Addr dst = ip->dst();
    switch (route_from_client(dst, config_.address)) {
    case ClientRoute::Local:
        if (gso != nullptr || !answer_echo(from, packet)) {
            ++stats_.dropped_no_route;
        }
        return;
    case ClientRoute::NotGlobal:
        ++stats_.dropped_not_global;
        ENFTUN_LOG_RATELIMITED(log::Level::Debug, "drop from %s: destination %s is not global",
                               from.peer().c_str(), dst.to_string().c_str());
        return;
    case ClientRoute::Forward:
        deliver(dst, packet, gso);
        return;
    }
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
        ++from.queue_drops;
        return true;
    }
    ++stats_.echo_replies;
    count(from.tx, counters_.to_clients, *len);
    if (!from.dirty_) {
        from.dirty_ = true;
        dirty_.push_back(&from);
    }
    return true;
}

void Router::deliver(const proto::Ipv6Addr& dst, Bytes packet, const framing::GsoMeta* gso) {
    auto it = by_address_.find(dst);
    forward(it != by_address_.end() ? it->second : nullptr, packet, gso);
}

void Router::forward(Session* to_session, Bytes packet, const framing::GsoMeta* gso) {
    if (to_session != nullptr) {
        Session& to = *to_session;
        if (to.link().dead()) {
            // Its failure is reported on the next loop turn (TlsLink::flush):
            // until then it is still routable, but nothing reaches it.
            ++stats_.dropped_no_route;
            return;
        }
        // Whole to a version-2 client, in segments to a version-1 one.
        const auto queued = tunnel::queue_packet(to.link().writer(), packet, gso, config_.mtu);
        stats_.dropped_split_limit += queued.skipped;
        // Flushed at the batch's end even when the queue filled up halfway
        // through a split: the segments that went in must not wait for the
        // client's next frame (or its heartbeat) to be sent.
        if (!to.dirty_ && !to.link().writer().empty()) {
            to.dirty_ = true;
            dirty_.push_back(&to);
        }
        if (queued.bytes > 0) { // what goes out: the segments when split, those that fit
            count(to.tx, counters_.to_clients, queued.bytes);
        }
        if (!queued.complete) {
            ++stats_.dropped_queue_full;
            ++to.queue_drops;
            ENFTUN_LOG_RATELIMITED(log::Level::Debug, "queue to %s full: dropping",
                                   to.address().to_string().c_str());
            return;
        }
        ++stats_.forwarded;
        return;
    }
    if (tun_) {
        if (gso != nullptr) {
            write_tun_gso(packet, *gso);
            return;
        }
        if (auto n = tun_->write(packet); !n) {
            ++stats_.dropped_tun_error;
            return;
        }
        ++stats_.to_tun;
        return;
    }
    ++stats_.dropped_no_route;
}

// A super-packet to the TUN: whole where it takes offloads (the kernel
// segments it), else segment by segment, as also when an older kernel
// refuses a UDP one for its segment count (gso_write_wants_split).
void Router::write_tun_gso(Bytes packet, const framing::GsoMeta& gso) {
    if (tun_->takes_gso(gso.gso_type)) {
        const tun::VnetHdr hdr = tunnel::vnet_hdr_for(gso);
        auto n = tun_->write_gso(packet, hdr);
        if (n) {
            ++stats_.to_tun;
            ++stats_.tun_gso_whole;
            return;
        }
        if (!tun::gso_write_wants_split(n.error().sys, hdr, packet.size())) {
            ++stats_.dropped_tun_error;
            return;
        }
        // An older kernel's USO limit (tun/offload.hpp): split it below.
    }
    ++stats_.tun_gso_split;
    const auto split = tunnel::for_each_segment(packet, gso, scratch_, [this](Bytes seg) {
        if (!tun_->write(seg)) {
            return false;
        }
        ++stats_.to_tun;
        return true;
    });
    stats_.dropped_split_limit += split.skipped;
    if (!split.complete) {
        ++stats_.dropped_tun_error;
    }
}

void Router::on_batch_end() {
    // Clear, don't swap: dirty_ keeps its capacity, so a batch allocates
    // nothing once the vector has grown to the busiest batch. flush() calls
    // back into nothing (a failure is reported later, from the link's own
    // timer), so no session is queued to or retired while we iterate.
    for (Session* s : dirty_) {
        s->dirty_ = false;
        (void)s->link().flush();
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
        std::optional<framing::GsoMeta> gso;
        Bytes packet;
        if (tun_->offload() && !tun_->pending()) {
            // Whole: a super-packet goes to version-2 clients as it is.
            auto r = tun_->read_whole();
            if (!r) {
                break;
            }
            ++packets;
            packet = r->packet;
            if ((r->hdr.gso_type & ~tun::kGsoEcn) != tun::kGsoNone) {
                gso = tunnel::gso_meta_from_read(r->hdr, packet, config_.mtu);
                if (!gso) {
                    (void)tun_->split_staged(); // read() hands out its segments
                    continue;
                }
                // Busy-polling counts packets: a super-packet is bulk.
                packets += static_cast<int>(framing::gso_segments(packet.size(), *gso)) - 1;
            }
        } else {
            auto n = tun_->read(scratch_);
            if (!n) {
                break;
            }
            ++packets;
            packet = Bytes(scratch_.data(), *n);
        }
        auto ip = proto::parse_ipv6(packet);
        if (!ip) {
            on_tun_ipv4(packet, gso ? &*gso : nullptr); // router_ipv4.cpp
            continue;
        }
        if (auto it = by_address_.find(ip->dst()); it != by_address_.end()) {
            deliver(ip->dst(), packet, gso ? &*gso : nullptr);
        } else if (ip->dst().is_multicast()) {
            ++stats_.dropped_no_route; // the kernel's own RS, MLD, ...
        } else {
            // Never back into the TUN it came from: with routes from other
            // routers in the kernel that could bounce it between routers.
            ++stats_.dropped_tun_not_local;
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
            if (log_session(s, ChurnLog::Kind::Closed)) {
                ENFTUN_LOG_INFO("session closed: %s from %s: idle for %llu ms",
                                s.address().to_string().c_str(), s.peer().c_str(),
                                static_cast<unsigned long long>(now - s.last_rx_ms()));
            }
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
            ++counters_.revoked;
            s.link().shutdown();
            retire(s);
        }
    }
}

void Router::log_stats() const {
    ENFTUN_LOG_INFO(
        "stats: sessions %zu handshaking %zu; accepted %llu refused-full %llu refused-source %llu "
        "evicted %llu first-byte-timeout %llu bad-hello %llu handshake-failures %llu up %llu "
        "replaced %llu idle-closed %llu; forwarded %llu to-tun %llu echo-replies %llu; dropped "
        "spoofed %llu no-route %llu not-global %llu queue-full %llu not-ipv6 %llu tun-error %llu "
        "tun-not-local %llu split-limit %llu; protocol-errors %llu; busy-poll spins %llu hits "
        "%llu; session-routes "
        "sent %llu failed %llu send-us %llu max-send-us %llu",
        by_address_.size(), budget_.size(), static_cast<unsigned long long>(stats_.accepted),
        static_cast<unsigned long long>(stats_.refused_full),
        static_cast<unsigned long long>(stats_.refused_source),
        static_cast<unsigned long long>(stats_.evicted),
        static_cast<unsigned long long>(stats_.first_byte_timeouts),
        static_cast<unsigned long long>(stats_.bad_hello),
        static_cast<unsigned long long>(stats_.handshake_failures),
        static_cast<unsigned long long>(stats_.sessions_up),
        static_cast<unsigned long long>(stats_.replaced),
        static_cast<unsigned long long>(stats_.idle_closed),
        static_cast<unsigned long long>(stats_.forwarded),
        static_cast<unsigned long long>(stats_.to_tun),
        static_cast<unsigned long long>(stats_.echo_replies),
        static_cast<unsigned long long>(stats_.dropped_spoofed),
        static_cast<unsigned long long>(stats_.dropped_no_route),
        static_cast<unsigned long long>(stats_.dropped_not_global),
        static_cast<unsigned long long>(stats_.dropped_queue_full),
        static_cast<unsigned long long>(stats_.dropped_not_ipv6),
        static_cast<unsigned long long>(stats_.dropped_tun_error),
        static_cast<unsigned long long>(stats_.dropped_tun_not_local),
        static_cast<unsigned long long>(stats_.dropped_split_limit),
        static_cast<unsigned long long>(stats_.protocol_errors),
        static_cast<unsigned long long>(busy_poll_.policy().spins()),
        static_cast<unsigned long long>(busy_poll_.policy().hits()),
        static_cast<unsigned long long>(session_routes_ ? session_routes_->sent() : 0),
        static_cast<unsigned long long>(session_routes_ ? session_routes_->failures() : 0),
        static_cast<unsigned long long>(session_routes_ ? session_routes_->send_us() : 0),
        static_cast<unsigned long long>(session_routes_ ? session_routes_->max_send_us() : 0));
}

} // namespace enftun::router
