// Session: one client connection of the router: a server-side TlsLink plus
// the address it is bound to once the handshake has verified the client's
// certificate. All decisions are the Router's; the session only reports.
//
// Lifetime: owned by the Router (in its session list). The Router must
// outlive it, and destroys it only outside the session's own callbacks.
#pragma once

#include "enftun/link/tls_link.hpp"
#include "enftun/proto/ipv4.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/router/handshake_budget.hpp"
#include "enftun/router/router_status.hpp"

#include <list>
#include <memory>
#include <optional>
#include <string>

namespace enftun::router {

class Router;

class Session final : public tunnel::TlsLink::Handler {
public:
    Session(loop::Loop& loop, Router& router, tls::TlsStream stream, std::string peer,
            tunnel::TlsLink::Options opts);

    tunnel::TlsLink& link() { return link_; }
    const std::string& peer() const { return peer_; }
    bool bound() const { return bound_; }
    const proto::Ipv6Addr& address() const { return address_; }
    void bind(const proto::Ipv6Addr& addr) {
        address_ = addr;
        bound_ = true;
    }
    void unbind() { bound_ = false; }
    // Inner IPv4 (router.ipv4_client_prefixes): the certificate's IPv4
    // address once bound; nullopt: none (IPv4 from it is dropped).
    const std::optional<proto::Ipv4Addr>& ipv4() const { return ipv4_; }
    void bind_ipv4(const proto::Ipv4Addr& addr) { ipv4_ = addr; }
    void unbind_ipv4() { ipv4_.reset(); }
    std::uint64_t last_rx_ms() const { return last_rx_ms_; }
    // Its slot in the router's HandshakeBudget until authenticated; 0: none.
    HandshakeBudget::Id budget_id = 0;
    // The peer's address without port, for the failure summary.
    std::string source;
    // For `enftun-router status`: when the handshake completed (loop time);
    // what came from the client, what was queued to it and what was dropped
    // for it on a full queue (counted by the Router, with its totals).
    std::uint64_t up_ms = 0;
    Traffic rx;
    Traffic tx;
    std::uint64_t queue_drops = 0;

    void on_link_up() override;
    void on_frame(Bytes packet) override;
    bool on_gso_frame(Bytes packet, const framing::GsoMeta& gso) override;
    void on_send_drained() override {}
    void on_read_done(std::size_t frames) override;
    void on_link_down(const char* reason) override;

private:
    // The router's bookkeeping, touched by it alone.
    friend class Router;
    // Whether the session is on the router's dirty list.
    bool dirty_ = false;
    // The session's place in the router's list, for O(1) removal.
    std::list<std::unique_ptr<Session>>::iterator self_;

    loop::Loop& loop_;
    Router& router_; // outlives the session
    std::string peer_;
    proto::Ipv6Addr address_{};
    bool bound_ = false;
    std::optional<proto::Ipv4Addr> ipv4_;
    std::uint64_t last_rx_ms_;
    tunnel::TlsLink link_; // last: its callbacks use the members above
};

} // namespace enftun::router
