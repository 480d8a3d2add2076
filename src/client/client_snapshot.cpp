// Client::snapshot(): kept out of client.cpp, which moves packets; this only
// reads the members.
#include "enftun/client/client.hpp"
#include "enftun/conn/route_check.hpp"

#include <netinet/in.h>

#include <cstring>

namespace enftun::tunnel {

namespace {

void add_filter_drops(ClientSnapshot& s, const char* side, const filter::FilterStats& stats) {
    static constexpr filter::DropReason kReasons[] = {
        filter::DropReason::Malformed, filter::DropReason::Ipv4NotAllowed,
        filter::DropReason::WrongSource, filter::DropReason::WrongDestination,
        filter::DropReason::NeighborDiscovery};
    static constexpr const char* kNames[] = {"malformed", "ipv4_not_allowed", "wrong_source",
                                             "wrong_destination", "neighbor_discovery"};
    for (std::size_t i = 0; i < std::size(kReasons); ++i) {
        // A filter drops only for the reasons of its side: skip the others.
        bool egress = std::string_view(side) == "egress";
        if ((egress && kReasons[i] == filter::DropReason::WrongDestination) ||
            (!egress && kReasons[i] == filter::DropReason::WrongSource)) {
            continue;
        }
        s.drops.emplace_back(std::string(side) + "_" + kNames[i], stats.dropped_for(kReasons[i]));
    }
}

// "[addr]:port" (IPv6) or "addr:port", like the connector's peer text.
std::string address_and_port(const sockaddr_storage& ss) {
    std::uint16_t port = 0;
    if (ss.ss_family == AF_INET6) {
        sockaddr_in6 sin6{};
        std::memcpy(&sin6, &ss, sizeof(sin6));
        port = ntohs(sin6.sin6_port);
        return "[" + conn::format_address(ss) + "]:" + std::to_string(port);
    }
    sockaddr_in sin{};
    std::memcpy(&sin, &ss, sizeof(sin));
    port = ntohs(sin.sin_port);
    return conn::format_address(ss) + ":" + std::to_string(port);
}

} // namespace

ClientSnapshot Client::snapshot() const {
    ClientSnapshot s;
    const std::uint64_t now = loop_.now_ms();
    s.state = state_;
    if (state_ == ClientState::BackingOff && retry_timer_.active()) {
        s.retry_in_ms = retry_due_ms_ > now ? retry_due_ms_ - now : 0;
    }
    s.backoff_resumed = resumed_attempt_;
    s.device = tun_.name();
    s.address = self_.to_string();
    // peer_ is the last connection's router until the next one is made: in
    // the other states there is none.
    if (state_ == ClientState::Handshaking || state_ == ClientState::Confirming ||
        state_ == ClientState::Up) {
        s.router = peer_;
    } else if (state_ == ClientState::Connecting) {
        s.connecting_to = connector_.trying();
    }
    if (link_ && !link_->dead()) {
        if (auto local = conn::socket_local_address(link_->stream().fd())) {
            s.local = address_and_port(*local);
        }
        if (link_->up()) {
            s.tls_version = link_->stream().version_name();
            s.tls_cipher = link_->stream().cipher_name();
            s.protocol = link_->stream().protocol_version();
            s.key_updates_sent = link_->stream().key_updates();
            s.key_updates_received = link_->stream().peer_key_updates();
        }
    }
    if (state_ == ClientState::Up) {
        s.tunnel_up_ms = now - up_since_ms_;
    }
    s.tun_rx_packets = stats_.tun_rx;
    s.tun_rx_bytes = stats_.tun_rx_bytes;
    s.tun_tx_packets = stats_.tun_tx;
    s.tun_tx_bytes = stats_.tun_tx_bytes;
    s.tun_offload = tun_.offload_name();
    s.gso_rx_whole = stats_.gso_rx_whole;
    s.gso_rx_split = stats_.gso_rx_split;
    s.link_rx_bytes = stats_.link_rx_bytes + (link_ ? link_->bytes_received() : 0);
    s.link_tx_bytes = stats_.link_tx_bytes + (link_ ? link_->bytes_sent() : 0);
    s.drops.emplace_back("tunnel_down", stats_.tun_dropped_down);
    add_filter_drops(s, "egress", egress_.stats());
    add_filter_drops(s, "ingress", ingress_.stats());
    s.drops.emplace_back("tun_write_error", stats_.tun_tx_errors);
    s.drops.emplace_back("heartbeat_no_room", stats_.probes_dropped);
    s.connects = stats_.connects;
    s.reconnects = reconnect_log_;
    s.heartbeat_probes = heartbeat_.probes_sent();
    if (heartbeat_.last_rtt_at_ms() != 0) {
        s.heartbeat_rtt_us = heartbeat_.last_rtt_us();
        s.heartbeat_rtt_age_ms = now - std::min(now, heartbeat_.last_rtt_at_ms());
    }
    s.busy_poll_us = config_.tun.busy_poll_us;
    s.busy_poll_spins = busy_poll_.policy().spins();
    s.busy_poll_hits = busy_poll_.policy().hits();
    const auto& ndp = router_card_.ndp_stats();
    const auto& dhcp = router_card_.dhcpv6_stats();
    s.rs_received = ndp.rs_received;
    s.ra_sent = ndp.ra_sent;
    s.ns_answered = ndp.ns_answered;
    s.dhcpv6_answered = dhcp.answered;
    s.router_card_malformed = ndp.malformed + dhcp.malformed;
    s.router_card_send_errors = ndp.send_errors + dhcp.send_errors;
    s.router_card_ignored = ndp.ignored + dhcp.ignored;
    s.router_card_rate_limited = ndp.rate_limited + dhcp.rate_limited;
    s.route_changes = stats_.route_changes;
    s.early_retries = stats_.early_retries;
    s.idle_trims = stats_.idle_trims;
    return s;
}

} // namespace enftun::tunnel
