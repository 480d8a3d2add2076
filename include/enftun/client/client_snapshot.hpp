// ClientSnapshot: a copy of what the client knows about itself, taken on the
// loop thread by Client::snapshot() for `enftun status` and the metrics
// (client_status.hpp renders it). Plain data, no pointers into the client.
#pragma once

#include "enftun/client/client_state.hpp"
#include "enftun/client/reconnect_log.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace enftun::tunnel {

struct ClientSnapshot {
    ClientState state = ClientState::Connecting;
    std::optional<std::uint64_t> retry_in_ms; // BackingOff: the next attempt in
    std::string device;                       // tun.dev
    std::string address;                      // ours, from the certificate
    // "[addr]:port" of the router of the TLS connection (handshaking,
    // confirming, up); "" in every other state, never the last one.
    std::string router;
    std::string connecting_to; // Connecting: the TCP connect in progress, else ""
    std::string local;         // our end of the TCP connection, "" if none
    std::string tls_version;   // "TLSv1.3", "" unless handshaken
    std::string tls_cipher;
    unsigned protocol = 0; // wire protocol version (PROTOCOL.md), 0 unless handshaken
    // TLS 1.3 KeyUpdates sent and received on the connection (tls/key_usage.hpp).
    std::uint64_t key_updates_sent = 0;
    std::uint64_t key_updates_received = 0;
    std::optional<std::uint64_t> tunnel_up_ms; // Up: for how long

    // The TUN: rx = read from it (towards the router), tx = written to it.
    std::uint64_t tun_rx_packets = 0;
    std::uint64_t tun_rx_bytes = 0;
    std::uint64_t tun_tx_packets = 0;
    std::uint64_t tun_tx_bytes = 0;
    std::string tun_offload = "none"; // TunDevice::offload_name()
    std::uint64_t gso_rx_whole = 0;   // super-packets from the link written whole
    std::uint64_t gso_rx_split = 0;   // ... split in user space first
    // The TLS link, all connections together: frames' bytes, heartbeats in.
    std::uint64_t link_rx_bytes = 0;
    std::uint64_t link_tx_bytes = 0;
    // Packets dropped, by reason ("tunnel_down", "egress_wrong_source", ...).
    std::vector<std::pair<std::string, std::uint64_t>> drops;

    std::uint64_t connects = 0; // tunnels brought up
    ReconnectLog reconnects;

    std::uint64_t heartbeat_probes = 0;
    std::optional<std::uint64_t> heartbeat_rtt_us; // the last answered probe's
    std::optional<std::uint64_t> heartbeat_rtt_age_ms;

    std::uint32_t busy_poll_us = 0; // 0: off
    std::uint64_t busy_poll_spins = 0;
    std::uint64_t busy_poll_hits = 0;

    // Router card (NDP and DHCPv6 answered to the host behind the TUN).
    std::uint64_t rs_received = 0;
    std::uint64_t ra_sent = 0;
    std::uint64_t ns_answered = 0;
    std::uint64_t dhcpv6_answered = 0;
    std::uint64_t router_card_malformed = 0;
    std::uint64_t router_card_send_errors = 0;
    std::uint64_t router_card_ignored = 0;      // not for us: dropped, unanswered
    std::uint64_t router_card_rate_limited = 0; // over the reply budget: unanswered

    // Path resilience.
    std::uint64_t route_changes = 0;
    std::uint64_t early_retries = 0;
    std::uint64_t idle_trims = 0;

    // This run resumed an earlier run's back-off at this attempt
    // (client_backoff.cpp); cleared once a tunnel is proven.
    std::optional<unsigned> backoff_resumed;
};

} // namespace enftun::tunnel
