// Client: the enftun client's wiring. Owns the TUN, the TLS context, the
// filters, the connector, the heartbeat and at most one live TlsLink, and
// moves packets between the TUN and the link.
//
//   TUN ─read batch─► EgressFilter ─► link.writer() ─flush─► TLS
//   TLS ─frames─► Heartbeat.consume? ─► IngressFilter ─write─► TUN
//
// Connection states (the TUN stays up through all of them): state_, one
// ClientState, changed only by apply() with client_state.hpp's table:
//
//   Connecting ──socket──► Handshaking ──TLS done──► Confirming ──first frame──► Up
//       ▲                                                 │ (heartbeat sent)      │
//       └────────── BackingOff (jittered timer) ◄─────────┴───────────────────────┘
//         error, EOF, refused, heartbeat timeout, bad frame, route change, identity
//   stop() ──► Stopped
//
// Backpressure: when the link's send buffer cannot take another packet the
// client stops reading the TUN; the kernel queues (txqueuelen) or drops, and
// reading resumes when the buffer drains. No queue grows without bound.
//
// Router card (router_card.hpp): every packet read from the TUN is first
// offered to the NDP/DHCPv6 responders; RS, NS for fe80::1 and DHCPv6
// client messages are answered into the TUN and never reach the router.
// While the tunnel is not up the client still reads the TUN, only to feed
// the responders: everything else read then is dropped and counted
// (tun_dropped_down), so the host behind the TUN keeps its RA routes and
// DHCPv6 lease across reconnects and no stale packet is sent after one.
#pragma once

#include "enftun/client/backoff_store.hpp"
#include "enftun/client/client_snapshot.hpp"
#include "enftun/client/client_state.hpp"
#include "enftun/client/identity_watch.hpp"
#include "enftun/client/reconnect_lines.hpp"
#include "enftun/client/reconnect_log.hpp"
#include "enftun/client/route_change_log.hpp"
#include "enftun/config/client_config.hpp"
#include "enftun/conn/backoff.hpp"
#include "enftun/conn/connector.hpp"
#include "enftun/conn/route_check.hpp"
#include "enftun/filter/filter.hpp"
#include "enftun/heartbeat/heartbeat.hpp"
#include "enftun/link/busy_poller.hpp"
#include "enftun/link/idle_trim.hpp"
#include "enftun/link/tls_link.hpp"
#include "enftun/loop/graveyard.hpp"
#include "enftun/loop/loop.hpp"
#include "enftun/netlink/route_monitor.hpp"
#include "enftun/netlink/tun_route_keeper.hpp"
#include "enftun/routercard/router_card.hpp"
#include "enftun/tls/tls_context.hpp"
#include "enftun/tun/tun_device.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace enftun::tunnel {

struct ClientStats {
    std::uint64_t tun_rx = 0;           // packets read from the TUN
    std::uint64_t tun_tx = 0;           // packets written to the TUN
    std::uint64_t tun_tx_errors = 0;    // packets the TUN refused
    std::uint64_t connects = 0;         // tunnels brought up
    std::uint64_t disconnects = 0;      // tunnels lost
    std::uint64_t probes_dropped = 0;   // heartbeats that found no room
    std::uint64_t tun_dropped_down = 0; // read while the tunnel was down
    std::uint64_t protocol_errors = 0;  // links closed for a malformed frame

    // Path resilience (why tunnels ended, what network changes did). The
    // reconnect counters count tunnels that were up, like disconnects, so
    // those lost to errors, EOF or TCP timeouts are
    // disconnects - reconnects_route - reconnects_heartbeat.
    std::uint64_t reconnects_route = 0;     // preferred path changed or vanished
    std::uint64_t reconnects_heartbeat = 0; // no answer to a heartbeat probe
    std::uint64_t route_changes = 0;        // coalesced netlink batches handled
    std::uint64_t route_unchanged = 0;      // ... that kept the connection and probed
    std::uint64_t early_retries = 0;        // backoff cut short by a network change
    std::uint64_t idle_trims = 0;           // buffers and pages handed back after a burst

    std::uint64_t tun_rx_bytes = 0;  // bytes of tun_rx
    std::uint64_t tun_tx_bytes = 0;  // bytes of tun_tx
    std::uint64_t link_rx_bytes = 0; // frames' bytes of the links that ended
    std::uint64_t link_tx_bytes = 0;

    // Version-2 super-packets from the link: written to the TUN whole, or
    // split in user space first (a TUN without offload takes no GSO).
    std::uint64_t gso_rx_whole = 0;
    std::uint64_t gso_rx_split = 0;

    std::uint64_t tun_packets() const { return tun_rx + tun_tx; } // either way
};

// What the client tells whoever runs it (app/: the service manager, through
// service/notifier.hpp). Either may be empty.
struct ClientListener {
    // After every change of state: the new state and one line saying it
    // ("connecting to HOST...", "up via PEER as ADDR", "backing off: WHY").
    std::function<void(ClientState, const std::string& status)> on_state;
    // Once per tunnel, at its first heartbeat round trip (our probe's echo
    // reply came back through it): the tunnel carries packets both ways.
    std::function<void()> on_proven;
};

class Client final : public TlsLink::Handler {
public:
    // Loads the identity, opens and configures the TUN, builds the TLS
    // context. Errors are logged with their cause; the Error says what failed.
    static Result<std::unique_ptr<Client>> create(loop::Loop& loop,
                                                  const config::ClientConfig& config);
    ~Client();

    // Set before start(); called from the loop.
    void set_listener(ClientListener listener) { listener_ = std::move(listener); }
    // Set before start(), under a service manager that waits for READY=1
    // (client_backoff.cpp): keep the reconnect back-off in the file at path
    // for the next run, and resume an earlier run's from it.
    void keep_backoff(const std::string& path);
    void start();
    // Graceful stop: close_notify to the router, no more callbacks.
    void stop();
    void log_stats() const;
    // A config reload (SIGHUP; client_reload.cpp): applies what changed
    // between the running config and fresh (client/config_change.hpp):
    // timing at once, a new remote or identity with one reconnect; what the
    // TUN was set up with is kept and named in one warning. False, with
    // nothing changed, when fresh's CA, certificate or key do not load or
    // name another address (logged).
    bool reload(const config::ClientConfig& fresh);
    // Whether the client stopped itself on a fatal error (exit non-zero).
    bool failed() const { return failed_; }

    const proto::Ipv6Addr& address() const { return self_; }
    ClientState state() const { return state_; }
    // What `enftun status` shows (client_snapshot.cpp).
    ClientSnapshot snapshot() const;

private:
    // self4: the inner IPv4 address (client_ipv4.hpp); nullopt: none.
    Client(loop::Loop& loop, const config::ClientConfig& config, proto::Ipv6Addr self,
           std::optional<proto::Ipv4Addr> self4, tun::TunDevice tun, tls::TlsContext tls);

    // Moves state_ by the table (client_state.hpp), logs the change and
    // tells listener_; why: the reason, for a change to BackingOff.
    void apply(ClientEvent event, std::string_view why = {});
    std::string describe_state(std::string_view why) const;
    void on_heartbeat_reply();
    void on_link_up() override;
    void on_frame(Bytes packet) override;
    bool on_gso_frame(Bytes packet, const framing::GsoMeta& gso) override;
    void on_send_drained() override;
    void on_read_done(std::size_t frames) override;
    void on_link_down(const char* reason) override;
    void on_confirmed();
    void on_idle_tick();
    std::uint64_t idle_tick_ms() const;

    void on_tun_readable();
    // Version 2 reads (read_tun_whole): what one read did.
    enum class TunStep { Committed, Skipped, Full, Stop };
    bool whole_reads() const;
    TunStep read_tun_whole(framing::FrameWriter& writer);
    void on_tun_failed(int status);
    void drain_tun_while_down();
    bool send_to_host(Bytes packet);
    void on_connected(conn::Connected connected);
    void on_connect_failed();
    // why: the one line logged for this reconnect ("connection to X lost: R").
    void schedule_reconnect(const std::string& why);
    bool retry_soon();
    void on_heartbeat_dead();
    void start_route_monitor();
    void readd_tun_address(); // tun_routes_'s: the TUN came up again
    void on_route_change(const netlink::NetChanges& changes);
    void on_identity_changed();
    void replace_tls(tls::TlsContext fresh);
    void check_route(const std::string& what);
    void reconnect_for_route();
    void send_probe(Bytes packet);
    std::size_t max_payload() const;
    // client_reload.cpp: the TLS context for config's CA, identity and
    // pins (errors logged), and the steps of reload().
    static Result<tls::TlsContext> make_tls(const config::ClientConfig& config);
    void apply_live_settings(bool ra_period_changed);
    void reconnect_for_reload(const std::string& keys);
    // client_backoff.cpp: backoff_store_'s record at start, at each
    // scheduled retry, when the tunnel is proven and at stop.
    bool resume_backoff();
    void save_backoff();
    void on_backoff_proven();
    void backoff_at_stop();

    loop::Loop& loop_; // outlives the client
    config::ClientConfig config_;
    proto::Ipv6Addr self_;
    tun::TunDevice tun_;
    tls::TlsContext tls_;
    // The context tls_ replaced: a link still handshaking with it borrows
    // its PeerPolicy (tls/peer_policy.hpp), so it lives until the next
    // replacement, by which time that link has been replaced too.
    std::optional<tls::TlsContext> retired_tls_;
    filter::EgressFilter egress_;
    filter::IngressFilter ingress_;
    conn::Backoff backoff_;
    loop::Poll tun_poll_;
    conn::Connector connector_;
    heartbeat::Heartbeat heartbeat_;
    loop::Timer retry_timer_;
    // Expiry warnings; a renewed certificate and key -> tls_.
    IdentityWatch identity_;
    // Network changes -> on_route_change.
    netlink::RouteMonitor route_monitor_;
    // The TUN's routes (and address) put back when it comes up again.
    netlink::TunRouteKeeper tun_routes_;
    loop::Graveyard<TlsLink> dead_links_; // destroyed outside the links' callbacks
    RouteChangeLog route_log_;            // the limit on "route change (...)" lines
    ReconnectLinesLog reconnect_lines_;   // the limit on each reconnect's lines
    loop::Timer idle_timer_;              // IdleTrimPolicy's ticks while the tunnel is up
    IdleTrimPolicy idle_trim_;
    BusyPoller busy_poll_;
    RouterCard router_card_;             // writes into tun_
    std::vector<std::uint8_t> down_buf_; // TUN reads while the tunnel is down
    std::unique_ptr<TlsLink> link_;
    std::string peer_;
    std::uint64_t up_since_ms_ = 0;
    ClientState state_ = ClientState::Connecting;
    ClientListener listener_;
    bool proven_ = false;            // this tunnel's heartbeat has had a reply
    bool failed_ = false;            // a fatal error stopped the client
    bool reconnect_now_ = false;     // the next schedule_reconnect() skips the backoff
    bool change_in_attempt_ = false; // a network change during this connect or handshake
    bool light_load_ = true;         // the last TUN event read at most one packet
    std::size_t last_segments_ = 0;  // packets in read_tun_whole's last commit
    std::uint64_t retry_due_ms_ = 0; // when retry_timer_ fires, if active
    // Event-driven (re)connects run at most once per interval, so a
    // flapping link cannot turn into a reconnect storm.
    static constexpr std::uint64_t kRouteRetryIntervalMs = 1000;
    conn::RetryPacer retry_pacer_{kRouteRetryIntervalMs};
    ClientStats stats_;
    ReconnectLog reconnect_log_; // why tunnels and attempts ended

    std::optional<BackoffStore> backoff_store_; // keep_backoff(); none: nothing kept
    bool ever_proven_ = false;                  // a tunnel of this run was proven
    std::optional<unsigned> resumed_attempt_;   // resume_backoff()'s, until proven or reset
};

} // namespace enftun::tunnel
