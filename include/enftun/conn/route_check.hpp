// Route check: after a network change, is the tunnel still on the path the
// kernel would pick for it now?
//
// The probe asks the kernel without sending anything: a UDP socket with the
// tunnel's SO_MARK (so policy routing treats it exactly like the tunnel
// socket and keeps it out of the tunnel, STYLE.md §8) is connect()ed to the
// router's address; connect() on a datagram socket only does the route
// lookup and picks the source address (ip(7), ipv6(7); RFC 6724 source
// selection), which getsockname() then reads back. That source is compared
// with the tunnel socket's own local address:
//
//   probe fails (no route) ───────────────────────────► Reconnect
//   probe source != tunnel source (a better path, or ours is gone) ► Reconnect
//   probe source == tunnel source ────────────────────► KeepAndProbe
//
// KeepAndProbe keeps the connection and asks the heartbeat for a probe now:
// the route may have changed under the same source (another gateway), and
// only traffic proves that the new path works.
//
// The decision is pure (decide_route_change); the probe and the socket
// address helpers make syscalls. RetryPacer limits how often network events
// may trigger a (re)connect, so a flapping link cannot cause a storm.
#pragma once

#include "enftun/util/result.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

namespace enftun::conn {

enum class RouteDecision { KeepAndProbe, Reconnect };

// Same family and address (and IPv6 scope id); ports are ignored.
bool same_address(const sockaddr_storage& a, const sockaddr_storage& b);

// Pure. preferred_source: the probe's result (an error when the kernel has
// no route to the router); tunnel_local: the tunnel socket's local address.
RouteDecision decide_route_change(const Result<sockaddr_storage>& preferred_source,
                                  const sockaddr_storage& tunnel_local);

// The source address the kernel would use now for traffic to peer marked
// with fwmark (0: no mark). Errors: System (sys = errno: ENETUNREACH or
// EHOSTUNREACH when there is no route, EADDRNOTAVAIL when there is no
// source address to use, EPERM when SO_MARK needs CAP_NET_ADMIN,
// EAFNOSUPPORT for an unknown family).
Result<sockaddr_storage> probe_preferred_source(const sockaddr_storage& peer, std::uint32_t fwmark);

// getsockname()/getpeername() of a socket. Errors: System.
Result<sockaddr_storage> socket_local_address(int fd);
Result<sockaddr_storage> socket_peer_address(int fd);

// "fd00::2" or "198.18.0.2" (no port), for the log.
std::string format_address(const sockaddr_storage& ss);

// Paces event-driven reconnects: at most one per min_interval_ms.
class RetryPacer {
public:
    explicit RetryPacer(std::uint64_t min_interval_ms) : min_interval_ms_(min_interval_ms) {}

    // How long a retry wanted at now_ms must wait (0: it may run at once).
    std::uint64_t delay(std::uint64_t now_ms) const;
    // Records that a retry was scheduled to run at at_ms.
    void on_retry(std::uint64_t at_ms) { last_ms_ = at_ms; }

private:
    std::uint64_t min_interval_ms_;
    std::optional<std::uint64_t> last_ms_;
};

} // namespace enftun::conn
