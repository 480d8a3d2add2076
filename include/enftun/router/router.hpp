// Router: the enftun-router hub. Accepts TLS clients on its listeners, binds
// each session to the IPv6 address in its verified certificate, and forwards
// packets:
//
//   from a client ─► source must be the client's address, else drop
//                 ─► echo request to fe80::1 or router.address: answer it
//                 ─► destination not global (client_route.hpp): drop
//                 ─► destination is a client: queue to that session
//                 ─► else the router TUN (gateway mode), if configured
//                 ─► else drop
//   from the TUN  ─► destination is a client: queue to that session, else drop
//                    (counted: tun-not-local; never back to the kernel, which
//                    may route it to another router that routes it back)
//
// Inner IPv4 (router.ipv4_client_prefixes, router_ipv4.cpp): a session whose
// certificate carries an IPv4 address inside those prefixes is bound to it
// too, and IPv4 takes the same paths (source checked, client_route.hpp's
// route_ipv4_from_client; to a client by its IPv4, else the TUN). With no
// prefixes, IPv4 is dropped and counted (not-ipv6).
//
// With a TUN, each session's address is also a /128 route through it in the
// kernel, for a routing daemon (session_routes.hpp).
//
// Queues towards a client are bounded (router.queue_limit bytes); on overflow
// the packet is dropped and counted. Sessions that queued something during a
// batch are flushed once at the end of it, so fan-out coalesces into records.
//
// Unauthenticated connections (handshake_budget.hpp) have their own budget:
// router.max_handshakes in all, router.max_handshakes_per_source from one
// source, the largest source's oldest evicted when full. Each starts as a Prelude (socket
// only) until its first 9 bytes show a ClientHello of a sane size, then
// becomes a Session whose link runs the TLS handshake. max_sessions counts
// authenticated sessions only and is checked when a session comes up (a
// client may replace its own session when the router is full), as is the
// CRL in force (the handshake checked the one of the context it began
// on). Failed handshakes are logged in a summary every 10 s
// (failure_summary.hpp); each one at debug level. Session lines (up,
// replaced, closed) are written as churn_log.hpp allows: a client's first
// in an interval always, a client reconnecting in a loop a few, then a
// summary; refusals of authenticated peers are rate-limited.
//
// Timers: one sweep timer closes sessions idle longer than idle_timeout; a
// housekeeping timer (while anything is unauthenticated or unsummarised)
// enforces first_byte_timeout and logs the summary; each session's link
// bounds its handshake (handshake_timeout from accept). A dead session or
// prelude is unlinked at once and destroyed from a 0 ms timer, outside its
// own callbacks.
#pragma once

#include "enftun/config/router_config.hpp"
#include "enftun/link/busy_poller.hpp"
#include "enftun/loop/graveyard.hpp"
#include "enftun/loop/loop.hpp"
#include "enftun/router/churn_log.hpp"
#include "enftun/router/crl_watch.hpp"
#include "enftun/router/failure_summary.hpp"
#include "enftun/router/handshake_budget.hpp"
#include "enftun/router/listener.hpp"
#include "enftun/router/prelude.hpp"
#include "enftun/router/router_status.hpp"
#include "enftun/router/session.hpp"
#include "enftun/router/session_routes.hpp"
#include "enftun/tls/tls_context.hpp"
#include "enftun/tun/tun_device.hpp"

#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

namespace enftun::router {

struct RouterStats {
    std::uint64_t accepted = 0;       // TCP connections accepted
    std::uint64_t refused_full = 0;   // closed: max_sessions reached
    std::uint64_t refused_source = 0; // closed at once: max_handshakes_per_source
    std::uint64_t evicted = 0;        // oldest unauthenticated, closed for a newer one
    std::uint64_t first_byte_timeouts = 0;
    std::uint64_t bad_hello = 0;          // first bytes not a ClientHello, or one too large
    std::uint64_t handshake_failures = 0; // TLS handshake failed or timed out
    std::uint64_t sessions_up = 0;
    std::uint64_t replaced = 0; // sessions displaced by a newer one
    std::uint64_t idle_closed = 0;
    std::uint64_t forwarded = 0; // packets queued to a client
    std::uint64_t to_tun = 0;    // packets written to the router TUN
    std::uint64_t echo_replies = 0;
    std::uint64_t dropped_spoofed = 0;    // source is not the sender's address
    std::uint64_t dropped_no_route = 0;   // no client, no TUN for the destination
    std::uint64_t dropped_not_global = 0; // link-local, multicast, loopback, ...
    std::uint64_t dropped_queue_full = 0;
    std::uint64_t dropped_not_ipv6 = 0; // IPv4 while ipv4_client_prefixes is empty
    std::uint64_t dropped_tun_error = 0;
    std::uint64_t dropped_tun_not_local = 0; // unicast from the TUN, for no session here
    std::uint64_t dropped_split_limit = 0;   // segments beyond tunnel::split_budget
    std::uint64_t protocol_errors = 0;       // sessions closed for a malformed frame

    // Version-2 super-packets from clients to the router TUN: written whole,
    // or split first (the TUN takes no offload of their type).
    std::uint64_t tun_gso_whole = 0;
    std::uint64_t tun_gso_split = 0;
};

struct Ipv6AddrHash {
    std::size_t operator()(const proto::Ipv6Addr& a) const noexcept;
};

class Router {
public:
    // Errors are logged with their cause.
    static Result<std::unique_ptr<Router>> create(loop::Loop& loop,
                                                  const config::RouterConfig& config);
    ~Router();

    // Closes every session with close_notify and stops accepting.
    void stop();
    void log_stats() const;
    // A snapshot for `enftun-router status`, listing at most
    // max_listed sessions (oldest first); the rest are counted as omitted.
    RouterStatus status(std::size_t max_listed) const;
    // For `status json` written in slices (session_slicer.hpp): the
    // addresses of the authenticated sessions, oldest first, at most max;
    // and the session bound to an address now (nullopt: none).
    std::vector<proto::Ipv6Addr> session_addresses(std::size_t max) const;
    std::optional<SessionStatus> session_status(const proto::Ipv6Addr& address) const;
    std::size_t session_count() const { return sessions_.size(); }
    // Authenticated sessions (one per client address).
    std::size_t bound_sessions() const { return by_address_.size(); }
    // Called after bound_sessions() changed (app/: the service manager's
    // STATUS=); from the loop, inside the router's callbacks: it must not
    // destroy the router.
    void set_on_sessions_changed(std::function<void()> cb) { on_sessions_changed_ = std::move(cb); }

    // Called by sessions.
    void on_session_up(Session& s);
    void on_session_down(Session& s, const char* reason);
    // gso: set for a version-2 super-packet (validated by the link).
    void on_packet(Session& from, Bytes packet, const framing::GsoMeta* gso = nullptr);
    void on_batch_end();
    // A session's readable event has delivered its `frames` (on_packet).
    void on_session_read_done(std::size_t frames);
    // Closes the sessions whose certificate the CRL in force lists (called
    // by the CrlWatch after each load).
    void close_revoked();
    // A config reload (SIGHUP; router_reload.cpp, router_change.hpp):
    // the CA, CRL, certificate and key are read again into a new TLS
    // context for new handshakes (sessions up keep theirs); limits and
    // timeouts apply at once; listen addresses, port, address and the TUN
    // are kept and named in one warning. False, with nothing changed, when
    // the TLS files or the CRL do not load (logged).
    bool reload(const config::RouterConfig& fresh);

private:
    Router(loop::Loop& loop, const config::RouterConfig& config, tls::TlsContext tls,
           std::optional<tun::TunDevice> tun);

    void on_accept(UniqueFd fd, const sockaddr_storage& peer);
    void on_prelude_done(Prelude& p, Prelude::Outcome outcome);
    void start_handshake(std::unique_ptr<Prelude> p);
    void evict(HandshakeBudget::Id id);
    void drop_prelude(HandshakeBudget::Id id);
    void handshake_failed(const std::string& source, const char* reason, HandshakeFailure kind);
    void arm_housekeeping();
    // Whether a session line of `kind` about s's address is written now
    // (churn_log.hpp); when not, housekeeping summarises it later.
    bool log_session(const Session& s, ChurnLog::Kind kind);
    void housekeeping();
    void on_tun_readable();
    void deliver(const proto::Ipv6Addr& dst, Bytes packet, const framing::GsoMeta* gso);
    // To session `to` (whole to version 2, split for version 1), or, when
    // null, to the TUN if there is one; else dropped (no-route).
    void forward(Session* to, Bytes packet, const framing::GsoMeta* gso);
    // Inner IPv4 (router_ipv4.cpp). accept_ipv4: the IPv4 address s is to
    // be bound to (nullopt: none, or IPv4 off), or false when its
    // certificate's IPv4 is malformed or outside the prefixes (s refused
    // and retired). bind_ipv4 after the IPv6 binding; unbind_ipv4 from
    // retire().
    bool accept_ipv4(Session& s, std::optional<proto::Ipv4Addr>& ipv4);
    void bind_ipv4(Session& s, const proto::Ipv4Addr& ipv4);
    void unbind_ipv4(Session& s);
    // After a reload: each session's IPv4 binding, and so its /32 route, as
    // the new ipv4_client_prefixes allow (unbound when no longer inside;
    // bound when its certificate's address now is and nobody holds it).
    void rebind_ipv4_after_reload();
    void on_ipv4_packet(Session& from, Bytes packet, const framing::GsoMeta* gso);
    // An IPv4 packet the TUN gave us: to its session, else dropped.
    void on_tun_ipv4(Bytes packet, const framing::GsoMeta* gso);
    void write_tun_gso(Bytes packet, const framing::GsoMeta& gso);
    bool answer_echo(Session& from, Bytes packet);
    void retire(Session& s);
    void sweep_idle();
    // The server context for config (errors logged); router.cpp.
    static Result<tls::TlsContext> make_tls(const config::RouterConfig& config);

    loop::Loop& loop_; // outlives the router
    config::RouterConfig config_;
    tls::TlsContext tls_;
    // Contexts a reload replaced: a handshake started with one borrows its
    // PeerPolicy, so each lives until no such handshake can be left (its
    // handshake_timeout after the reload), then goes at the next reload.
    struct RetiredTls {
        tls::TlsContext ctx;
        std::uint64_t until_ms;
    };
    std::vector<RetiredTls> retired_tls_;
    std::optional<tun::TunDevice> tun_;
    std::unique_ptr<loop::Poll> tun_poll_;
    std::vector<std::unique_ptr<Listener>> listeners_;
    std::list<std::unique_ptr<Session>> sessions_;
    std::unordered_map<proto::Ipv6Addr, Session*, Ipv6AddrHash> by_address_;
    // Inner IPv4: sessions by their certificate's IPv4 (as a big-endian
    // number); empty while router.ipv4_client_prefixes is.
    std::unordered_map<std::uint32_t, Session*> by_ipv4_;
    std::vector<Session*> dirty_; // queued to during this batch
    bool tun_light_load_ = true;  // the last TUN event read at most one packet
    HandshakeBudget budget_;
    // Unauthenticated connections by budget id: before TLS, and in it.
    std::unordered_map<HandshakeBudget::Id, std::unique_ptr<Prelude>> preludes_;
    std::unordered_map<HandshakeBudget::Id, Session*> handshaking_;
    std::vector<std::unique_ptr<Prelude>> ready_; // to become sessions (reaper)
    FailureSummary failures_;
    ChurnLog churn_;     // which session up/replaced/closed lines are written
    loop::Timer reaper_; // ends the batch, starts the ready_ handshakes
    // Retired sessions and preludes, destroyed outside their callbacks.
    loop::Graveyard<Session> dead_sessions_;
    loop::Graveyard<Prelude> dead_preludes_;
    loop::Timer sweeper_;
    loop::Timer housekeeper_;
    tunnel::BusyPoller busy_poll_;
    std::unique_ptr<CrlWatch> crl_watch_;           // set iff router.crl_file is
    std::unique_ptr<SessionRoutes> session_routes_; // set iff router.tun is
    std::vector<std::uint8_t> scratch_;             // TUN reads and generated replies
    bool stopping_ = false;
    std::function<void()> on_sessions_changed_;
    RouterStats stats_;
    // What `enftun-router status` reports beyond stats_ (router_status.hpp).
    struct StatusCounters {
        std::uint64_t started_ms = 0;
        Traffic from_clients;
        Traffic to_clients;
        std::uint64_t revoked = 0;
        std::array<std::uint64_t, kHandshakeFailureKinds> handshake_failures{};
        void failed(HandshakeFailure kind) { ++handshake_failures[static_cast<std::size_t>(kind)]; }
    } counters_;
};

} // namespace enftun::router
