// TunRouteKeeper: puts the routes through the TUN back when the TUN comes
// up again. `ip link set DEV down` makes the kernel delete every route
// through the device (and its IPv6 addresses, unless keep_addr_on_down), and
// `up` does not put them back: the tunnel would stay up with nothing routed
// into it until an operator runs enftun-setup down and up. The keeper owns
// the one list of those routes: the ones through the TUN when it starts
// (a dump) and those added later (RTM_NEWROUTE), less those deleted while
// the link is up (an operator's or enftun-setup's deliberate change). A
// deletion while the link is down is the kernel's flush and is not taken
// from the list. When the link comes up again (RTM_NEWLINK with IFF_UP
// after one without), it calls `on_up_again` (the client puts its address
// back) and adds each listed route again, as it was (table, metric, type,
// protocol, scope, preference, gateway), logging one line.
//
// Kept: routes whose RTA_OIF is the TUN, of type unicast or multicast, not
// made by the kernel itself (proto kernel: address and link-local prefixes,
// which come back with the link; proto ra and redirect: the router card's
// next RA brings them back) nor clones. At most kMaxKeptRoutes (the rest
// are not kept; one warning).
//
// Errors: start() returns System when a socket cannot be opened or bound;
// the keeper then does nothing (the caller logs it). Failed re-adds are
// logged, rate-limited, and counted.
//
// Lifetime: owned by its user; the loop outlives it. Sockets: one
// subscribed to RTMGRP_LINK and the route groups (nonblocking, polled),
// one for blocking requests (the start dump and the re-adds: a few
// messages, on an event that is rare).
#pragma once

#include "enftun/loop/loop.hpp"
#include "enftun/util/bytes.hpp"
#include "enftun/util/result.hpp"
#include "enftun/util/unique_fd.hpp"

#include <libmnl/libmnl.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

struct nlmsghdr;

namespace enftun::netlink {

inline constexpr std::size_t kMaxKeptRoutes = 256;

// A route through the TUN as the kernel reported it, enough to add it again.
struct KeptRoute {
    std::uint8_t family = 0; // AF_INET6, AF_INET
    std::uint8_t dst_len = 0;
    std::uint8_t protocol = 0; // rtm_protocol
    std::uint8_t scope = 0;    // rtm_scope
    std::uint8_t type = 0;     // rtm_type (RTN_UNICAST, RTN_MULTICAST, ...)
    std::uint32_t table = 0;   // RTA_TABLE, else rtm_table
    std::uint32_t priority = 0;
    bool has_priority = false;
    std::optional<std::uint8_t> pref; // RTA_PREF (IPv6 router preference)
    std::array<std::uint8_t, 16> dst{};
    std::array<std::uint8_t, 16> gateway{};
    bool has_gateway = false;

    bool operator==(const KeptRoute&) const = default;
};

// The route an RTM_NEWROUTE or RTM_DELROUTE message (header included)
// describes, if it goes out of `ifindex` and is one the keeper keeps (see
// above); nullopt for anything else, a malformed message included.
std::optional<KeptRoute> keepable_route(Bytes msg, unsigned ifindex);

// Writes into buf (at least 256 bytes, aligned for nlmsghdr) an
// RTM_NEWROUTE request that creates `r` out of ifindex (NLM_F_CREATE |
// NLM_F_EXCL: an equal route already there is left alone) and returns it.
nlmsghdr* put_route_request(void* buf, const KeptRoute& r, unsigned ifindex);

class TunRouteKeeper {
public:
    TunRouteKeeper(loop::Loop& loop, unsigned ifindex, std::function<void()> on_up_again);
    ~TunRouteKeeper();
    TunRouteKeeper(const TunRouteKeeper&) = delete;
    TunRouteKeeper& operator=(const TunRouteKeeper&) = delete;

    // Subscribes, then lists the routes now through the TUN. Errors: System.
    Status start();
    void stop();

    std::size_t kept() const { return routes_.size(); }
    std::uint64_t restored() const { return restored_; }
    std::uint64_t restore_failures() const { return restore_failures_; }

    // Exposed for the unit tests: one notification (header included).
    void on_message(Bytes msg);

private:
    using Socket = std::unique_ptr<mnl_socket, Free<mnl_socket_close>>;

    void on_readable();
    void keep(const KeptRoute& r);
    void forget(const KeptRoute& r);
    void restore();
    Status dump();
    Status add(const KeptRoute& r);
    Status exchange(nlmsghdr* nlh, mnl_cb_t on_answer, const char* what);

    loop::Loop& loop_;
    unsigned ifindex_;
    std::function<void()> on_up_again_;
    Socket events_;
    Socket requests_;
    std::unique_ptr<loop::Poll> poll_;  // declared after events_: closed before it
    std::vector<std::uint8_t> buf_;     // notifications
    std::vector<std::uint8_t> req_buf_; // answers to our requests
    std::vector<KeptRoute> routes_;
    bool up_ = true;
    bool warned_full_ = false;
    std::uint32_t seq_ = 1;
    std::uint64_t restored_ = 0;
    std::uint64_t restore_failures_ = 0;
};

} // namespace enftun::netlink
