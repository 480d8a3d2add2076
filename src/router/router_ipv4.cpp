// Router: inner IPv4 (router.ipv4_client_prefixes). A client certificate may
// bind the client to one IPv4 address (a 4-octet subjectAltName IP entry,
// tls/identity.hpp); the session is then found by it too, and IPv4 packets
// take the IPv6 paths: source checked, to a client by its IPv4 address,
// else the gateway TUN. Kept apart from router.cpp, whose IPv6 forwarding
// it reuses (Router::forward).
#include "enftun/router/router.hpp"

#include "enftun/log/log.hpp"
#include "enftun/proto/ipv4.hpp"
#include "enftun/router/client_route.hpp"
#include "enftun/tls/identity.hpp"

#include <algorithm>

namespace enftun::router {

namespace {

std::uint32_t key_of(const proto::Ipv4Addr& a) {
    return std::uint32_t{a[0]} << 24 | std::uint32_t{a[1]} << 16 | std::uint32_t{a[2]} << 8 |
           std::uint32_t{a[3]};
}

std::string text_of(const proto::Ipv4Addr& a) {
    return config::format_ipv4(a);
}

bool in_any(const std::vector<proto::Ipv4Prefix>& prefixes, const proto::Ipv4Addr& a) {
    return std::any_of(prefixes.begin(), prefixes.end(),
                       [&](const proto::Ipv4Prefix& p) { return proto::in_prefix(p, a); });
}

// What accept_ipv4 lets a session be bound to.
bool allowed(const std::vector<proto::Ipv4Prefix>& prefixes, const proto::Ipv4Addr& a) {
    return in_any(prefixes, a) && !is_client_subnet_edge(a, prefixes);
}

} // namespace

bool Router::accept_ipv4(Session& s, std::optional<proto::Ipv4Addr>& ipv4) {
    auto v4 = tls::ipv4_from_cert(s.link().stream().peer_certificate());
    if (!v4) {
        ENFTUN_LOG_RATELIMITED(log::Level::Warn, "refusing %s: %s", s.peer().c_str(),
                               v4.error().what);
        counters_.failed(HandshakeFailure::Certificate);
        s.link().shutdown();
        retire(s);
        return false;
    }
    if (!*v4) {
        return true; // IPv6 only, as every certificate of the original enftun
    }
    if (config_.ipv4_client_prefixes.empty()) {
        static bool logged = false;
        if (!logged) {
            logged = true;
            ENFTUN_LOG_DEBUG("ignoring the IPv4 address %s in the certificate of %s: "
                             "router.ipv4_client_prefixes is empty",
                             text_of(**v4).c_str(), s.peer().c_str());
        }
        return true;
    }
    // The handshake checked it against the prefixes of its TLS context; a
    // reload since may have changed them.
    const char* refused = nullptr;
    if (!in_any(config_.ipv4_client_prefixes, **v4)) {
        refused = "outside router.ipv4_client_prefixes";
    } else if (is_client_subnet_edge(**v4, config_.ipv4_client_prefixes)) {
        refused = "is the network or broadcast address of a prefix in "
                  "router.ipv4_client_prefixes";
    }
    if (refused != nullptr) {
        ENFTUN_LOG_RATELIMITED(log::Level::Warn, "refusing %s: IPv4 address %s %s",
                               s.peer().c_str(), text_of(**v4).c_str(), refused);
        counters_.failed(HandshakeFailure::Certificate);
        s.link().shutdown();
        retire(s);
        return false;
    }
    ipv4 = **v4;
    return true;
}

void Router::bind_ipv4(Session& s, const proto::Ipv4Addr& ipv4) {
    // As for IPv6 (on_session_up): the newer session holding the address
    // wins. A reconnect of the same client has already replaced its old
    // session by the IPv6 address; this is a second certificate for it.
    if (auto it = by_ipv4_.find(key_of(ipv4)); it != by_ipv4_.end() && it->second != &s) {
        Session& old = *it->second;
        if (log_session(old, ChurnLog::Kind::Replaced)) {
            ENFTUN_LOG_INFO("session for %s from %s replaced by %s", text_of(ipv4).c_str(),
                            old.peer().c_str(), s.peer().c_str());
        }
        ++stats_.replaced;
        old.link().shutdown();
        retire(old);
    }
    s.bind_ipv4(ipv4);
    by_ipv4_[key_of(ipv4)] = &s;
    if (session_routes_) {
        session_routes_->add(ipv4); // its /32 into the TUN, for BIRD
    }
}

void Router::unbind_ipv4(Session& s) {
    if (!s.ipv4()) {
        return;
    }
    if (auto it = by_ipv4_.find(key_of(*s.ipv4())); it != by_ipv4_.end() && it->second == &s) {
        by_ipv4_.erase(it);
        if (session_routes_) {
            session_routes_->remove(*s.ipv4());
        }
    }
    s.unbind_ipv4();
}

// Sessions up keep their certificates, but what their IPv4 address may do
// is the running config's: a /32 left in the kernel for an address whose
// packets are dropped would draw traffic (through BIRD, from other routers)
// into nothing. One summary line, however many sessions.
void Router::rebind_ipv4_after_reload() {
    std::size_t unbound = 0;
    std::size_t bound = 0;
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        Session& s = **it++;
        if (!s.bound()) {
            continue; // handshaking: on_session_up checks it against the new config
        }
        if (s.ipv4()) {
            if (!allowed(config_.ipv4_client_prefixes, *s.ipv4())) {
                unbind_ipv4(s); // its /32 goes; its IPv4 packets were dropped already
                ++unbound;
            }
            continue;
        }
        auto v4 = tls::ipv4_from_cert(s.link().stream().peer_certificate());
        if (v4 && *v4 && allowed(config_.ipv4_client_prefixes, **v4) &&
            by_ipv4_.find(key_of(**v4)) == by_ipv4_.end()) {
            bind_ipv4(s, **v4);
            ++bound;
        }
    }
    if (unbound > 0 || bound > 0) {
        ENFTUN_LOG_INFO("reload: ipv4_client_prefixes: %zu sessions lost their IPv4 address and "
                        "its route, %zu gained theirs",
                        unbound, bound);
    }
}

void Router::on_ipv4_packet(Session& from, Bytes packet, const framing::GsoMeta* gso) {
    auto ip = proto::parse_ipv4(packet);
    if (!ip) {
        // The frame reader lets only well-formed packets through.
        ++stats_.dropped_not_ipv6;
        return;
    }
    switch (
        route_ipv4_from_client(ip->src(), ip->dst(), from.ipv4(), config_.ipv4_client_prefixes)) {
    case Ipv4Route::Off:
        // PROTOCOL.md allows IPv4 on the wire; this router routes none:
        // drop and count it, and keep the session (no protocol error).
        ++stats_.dropped_not_ipv6;
        ENFTUN_LOG_RATELIMITED(log::Level::Debug, "drop from %s: IPv4 (ipv4_client_prefixes unset)",
                               from.peer().c_str());
        return;
    case Ipv4Route::Spoofed:
        ++stats_.dropped_spoofed;
        ENFTUN_LOG_RATELIMITED(log::Level::Debug, "drop from %s: source %s is not its address",
                               from.peer().c_str(), text_of(ip->src()).c_str());
        return;
    case Ipv4Route::NotGlobal:
        ++stats_.dropped_not_global;
        ENFTUN_LOG_RATELIMITED(log::Level::Debug, "drop from %s: destination %s is not global",
                               from.peer().c_str(), text_of(ip->dst()).c_str());
        return;
    case Ipv4Route::Forward: {
        auto it = by_ipv4_.find(key_of(ip->dst()));
        forward(it != by_ipv4_.end() ? it->second : nullptr, packet, gso);
        return;
    }
    }
}

void Router::on_tun_ipv4(Bytes packet, const framing::GsoMeta* gso) {
    auto ip = proto::parse_ipv4(packet);
    if (!ip || config_.ipv4_client_prefixes.empty()) {
        ++stats_.dropped_not_ipv6; // IPv4 the host routed into the TUN
        return;
    }
    if (auto it = by_ipv4_.find(key_of(ip->dst())); it != by_ipv4_.end()) {
        forward(it->second, packet, gso);
    } else if (!proto::is_routable_unicast(ip->dst()) ||
               is_client_subnet_edge(ip->dst(), config_.ipv4_client_prefixes)) {
        ++stats_.dropped_no_route; // multicast, broadcast
    } else {
        ++stats_.dropped_tun_not_local; // never back into the TUN (router.cpp)
    }
}

} // namespace enftun::router
