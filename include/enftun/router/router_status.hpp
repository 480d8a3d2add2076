// RouterStatus: a snapshot of the router for `enftun-router status` (plain
// text, JSON) and its metrics (OpenMetrics text, the control socket and
// router.metrics_file). Pure data: the Router fills one (Router::status()),
// the formatters (router/status_format.hpp) print it; nothing here points
// into the router, so a snapshot may outlive the sessions it lists.
//
// The field names are those of the JSON output (README "Router status"):
// rename one and the documented format changes.
//
// Also here: why an unauthenticated connection did not become a session
// (HandshakeFailure), counted by kind so that the metric's `reason` label
// has a fixed, small set of values whatever the peers send.
#pragma once

#include "enftun/control/server_counters.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace enftun::router {

// Why a connection did not become a session. Each is one value of the
// `reason` label of enftun_router_handshake_failures_total; new kinds go
// before kCount, and a kind is never renamed (dashboards use the names).
enum class HandshakeFailure : std::size_t {
    PerSourceCap,     // refused at accept: max_handshakes_per_source
    Evicted,          // dropped for a newer one: max_handshakes
    FirstByteTimeout, // no ClientHello within first_byte_timeout
    NotTls,           // the first bytes were not a TLS ClientHello
    HelloTooLarge,    // a ClientHello larger than the router accepts
    ClosedBeforeTls,  // the peer closed before its ClientHello
    Timeout,          // the TLS handshake outlasted handshake_timeout
    Certificate,      // the client's certificate was missing or refused
    PeerClosed,       // the peer closed during the handshake
    TlsError,         // any other TLS or socket error
    kCount
};
constexpr std::size_t kHandshakeFailureKinds = static_cast<std::size_t>(HandshakeFailure::kCount);

// "per_source_cap", "first_byte_timeout", ...: the label value and JSON key.
std::string_view handshake_failure_name(HandshakeFailure kind);

// The kind of a TLS handshake failure, from the reason TlsLink reported
// ("TLS handshake timed out", "TLS handshake failed: peer sent
// close_notify", "TLS handshake failed: <OpenSSL's reason>", "socket
// error") and whether the PeerPolicy refused the certificate.
HandshakeFailure classify_link_failure(std::string_view reason, bool policy_refused);

// One authenticated session.
struct SessionStatus {
    std::string address;          // the client's tunnel address (its certificate)
    std::string ipv4;             // its IPv4 address (inner IPv4); "": none
    std::string peer;             // "[fd00:100::2]:40000": where it connects from
    std::uint64_t uptime_ms = 0;  // since its handshake completed
    std::uint64_t rx_packets = 0; // IP packets from the client
    std::uint64_t rx_bytes = 0;   // their bytes (IP header included, no framing/TLS)
    std::uint64_t tx_packets = 0; // IP packets queued to the client
    std::uint64_t tx_bytes = 0;
    std::uint64_t queue_drops = 0; // packets for it dropped: its queue was full
    std::string tls_version;       // "TLSv1.3"
    std::string tls_cipher;        // "TLS_AES_256_GCM_SHA384"
    unsigned protocol = 1;         // wire protocol version (PROTOCOL.md)
    // TLS 1.3 KeyUpdates the router sent on it and received (tls/key_usage.hpp).
    std::uint64_t key_updates_sent = 0;
    std::uint64_t key_updates_received = 0;
};

// Packets and their bytes in one direction.
struct Traffic {
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
};

struct RouterStatus {
    std::string version;         // ENFTUN_VERSION
    std::uint64_t uptime_ms = 0; // of the router (process)

    // Now.
    std::size_t sessions = 0;    // authenticated sessions
    std::size_t handshaking = 0; // unauthenticated connections (the budget)

    // Since start.
    std::uint64_t accepted = 0;        // TCP connections accepted
    std::uint64_t sessions_total = 0;  // handshakes that became sessions
    std::uint64_t replaced = 0;        // sessions displaced by a newer one for the address
    std::uint64_t idle_closed = 0;     // closed after idle_timeout
    std::uint64_t revoked = 0;         // closed: the CRL lists their certificate
    std::uint64_t protocol_errors = 0; // closed for a malformed frame
    std::array<std::uint64_t, kHandshakeFailureKinds> handshake_failures{};

    Traffic from_clients;           // received from clients
    Traffic to_clients;             // queued to clients (forwarded, echo replies)
    std::uint64_t to_tun = 0;       // packets written to the router TUN
    std::uint64_t echo_replies = 0; // answered by the router itself

    // The router TUN: its offloads (TunDevice::offload_name(), "" without a
    // TUN), and version-2 super-packets from clients written to it whole or
    // split first.
    std::string tun_offload;
    std::uint64_t tun_gso_whole = 0;
    std::uint64_t tun_gso_split = 0;

    // Packets dropped, by reason (the `reason` label of
    // enftun_router_dropped_packets_total).
    struct Drops {
        std::uint64_t spoofed = 0;       // source is not the sender's address
        std::uint64_t no_route = 0;      // no session, no TUN for the destination
        std::uint64_t not_global = 0;    // link-local, multicast, ... destination
        std::uint64_t queue_full = 0;    // the receiver's queue was full (queue_limit)
        std::uint64_t not_ipv6 = 0;      // IPv4: valid on the wire, not routed
        std::uint64_t tun_error = 0;     // the TUN write failed
        std::uint64_t tun_not_local = 0; // from the TUN, for no session here
        std::uint64_t split_limit = 0;   // segments beyond tunnel::split_budget, never made
    } drops;

    // The configured limits, and how often each was hit.
    struct Limit {
        std::uint64_t value = 0; // the config's (ms for timeouts, bytes for queue_limit)
        std::uint64_t hits = 0;
    };
    struct Limits {
        Limit max_sessions;              // a session refused: the router was full
        Limit max_handshakes;            // evictions
        Limit max_handshakes_per_source; // refusals at accept
        Limit first_byte_timeout;        // connections closed silent
        Limit handshake_timeout;         // handshakes timed out
        Limit idle_timeout;              // sessions closed idle
        Limit queue_limit;               // packets dropped on a full queue
    } limits;

    // Authenticated sessions, oldest first: at most the number asked for
    // (Router::status()); sessions_omitted says how many more there are.
    std::vector<SessionStatus> session_list;
    std::size_t sessions_omitted = 0;

    // The control socket's own counters (RouterControl fills them in; unset:
    // the router has no control socket).
    std::optional<control::ServerCounters> control;
};

} // namespace enftun::router
