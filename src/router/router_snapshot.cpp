// Router::status(): the Router's counters and sessions copied into a
// RouterStatus (router_status.hpp). Kept apart from router.cpp, which
// forwards packets: this only reads.
#include "enftun/router/router.hpp"

namespace enftun::router {

namespace {

std::uint64_t ms(std::chrono::milliseconds d) {
    return static_cast<std::uint64_t>(d.count());
}

SessionStatus status_of(Session& s, std::uint64_t now) {
    SessionStatus st;
    st.address = s.address().to_string();
    if (s.ipv4()) {
        st.ipv4 = config::format_ipv4(*s.ipv4());
    }
    st.peer = s.peer();
    st.uptime_ms = now - s.up_ms;
    st.rx_packets = s.rx.packets;
    st.rx_bytes = s.rx.bytes;
    st.tx_packets = s.tx.packets;
    st.tx_bytes = s.tx.bytes;
    st.queue_drops = s.queue_drops;
    st.tls_version = s.link().stream().version_name();
    st.tls_cipher = s.link().stream().cipher_name();
    st.protocol = s.link().stream().protocol_version();
    st.key_updates_sent = s.link().stream().key_updates();
    st.key_updates_received = s.link().stream().peer_key_updates();
    return st;
}

} // namespace

RouterStatus Router::status(std::size_t max_listed) const {
    const std::uint64_t now = loop_.now_ms();
    const auto failures = [this](HandshakeFailure kind) {
        return counters_.handshake_failures[static_cast<std::size_t>(kind)];
    };
    RouterStatus st;
    st.version = ENFTUN_VERSION;
    st.uptime_ms = now - counters_.started_ms;
    st.sessions = by_address_.size();
    st.handshaking = budget_.size();
    st.accepted = stats_.accepted;
    st.sessions_total = stats_.sessions_up;
    st.replaced = stats_.replaced;
    st.idle_closed = stats_.idle_closed;
    st.revoked = counters_.revoked;
    st.protocol_errors = stats_.protocol_errors;
    st.handshake_failures = counters_.handshake_failures;
    st.from_clients = counters_.from_clients;
    st.to_clients = counters_.to_clients;
    st.to_tun = stats_.to_tun;
    st.tun_offload = tun_ ? tun_->offload_name() : "";
    st.tun_gso_whole = stats_.tun_gso_whole;
    st.tun_gso_split = stats_.tun_gso_split;
    st.echo_replies = stats_.echo_replies;
    st.drops = {stats_.dropped_spoofed,       stats_.dropped_no_route,   stats_.dropped_not_global,
                stats_.dropped_queue_full,    stats_.dropped_not_ipv6,   stats_.dropped_tun_error,
                stats_.dropped_tun_not_local, stats_.dropped_split_limit};
    st.limits.max_sessions = {config_.max_sessions, stats_.refused_full};
    st.limits.max_handshakes = {config_.max_handshakes, stats_.evicted};
    st.limits.max_handshakes_per_source = {config_.max_handshakes_per_source,
                                           stats_.refused_source};
    st.limits.first_byte_timeout = {ms(config_.first_byte_timeout),
                                    failures(HandshakeFailure::FirstByteTimeout)};
    st.limits.handshake_timeout = {ms(config_.handshake_timeout),
                                   failures(HandshakeFailure::Timeout)};
    st.limits.idle_timeout = {ms(config_.idle_timeout), stats_.idle_closed};
    st.limits.queue_limit = {config_.queue_limit, stats_.dropped_queue_full};
    // sessions_ holds the handshaking ones too, and is oldest first; the
    // bound ones are those of by_address_.
    st.session_list.reserve(std::min(max_listed, by_address_.size()));
    for (auto it = sessions_.begin(); it != sessions_.end() && st.session_list.size() < max_listed;
         ++it) {
        if ((*it)->bound()) {
            st.session_list.push_back(status_of(**it, now));
        }
    }
    st.sessions_omitted = by_address_.size() - st.session_list.size();
    return st;
}

std::vector<proto::Ipv6Addr> Router::session_addresses(std::size_t max) const {
    std::vector<proto::Ipv6Addr> out;
    out.reserve(std::min(max, by_address_.size()));
    for (auto it = sessions_.begin(); it != sessions_.end() && out.size() < max; ++it) {
        if ((*it)->bound()) {
            out.push_back((*it)->address());
        }
    }
    return out;
}

std::optional<SessionStatus> Router::session_status(const proto::Ipv6Addr& address) const {
    auto it = by_address_.find(address);
    if (it == by_address_.end()) {
        return std::nullopt;
    }
    return status_of(*it->second, loop_.now_ms());
}

} // namespace enftun::router
