// RouteMonitor: watches the kernel's routing state for changes that could
// move the path to the router: links (up/down), IPv4/IPv6 addresses and
// IPv4/IPv6 routes (rtnetlink multicast groups RTMGRP_LINK, _IPV4_IFADDR,
// _IPV6_IFADDR, _IPV4_ROUTE, _IPV6_ROUTE). Events are parsed into NetEvents
// (net_event.hpp) and a burst of them (an interface going down removes its
// addresses and routes in one go) is coalesced into one NetChanges and one
// callback. No policy: what a change means is the owner's business.
//
// Timers: one, the coalescing window. It starts with the first event of a
// batch and is not pushed back by later ones, so a steady stream of events
// still yields one callback per window rather than none.
//
// Overrun: when the socket's receive queue overflows the kernel drops
// notifications and reports ENOBUFS (netlink(7)). Which events were lost is
// unknown, so the batch is flagged `overrun` ("something changed") and
// delivered like any other; the socket keeps working.
//
// Lifetime: owned by its user; start() opens the socket (a libmnl socket,
// nonblocking, polled by the loop), stop() or the destructor closes it. The
// callback runs from the coalescing timer and may call stop(), but must not
// destroy the monitor.
#pragma once

#include "enftun/loop/loop.hpp"
#include "enftun/netlink/net_event.hpp"
#include "enftun/util/result.hpp"
#include "enftun/util/unique_fd.hpp"

#include <libmnl/libmnl.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace enftun::netlink {

// What happened during one coalescing window.
struct NetChanges {
    static constexpr std::size_t kSample = 8;

    std::uint32_t links = 0;
    std::uint32_t addresses = 0;
    std::uint32_t routes = 0;
    bool overrun = false; // notifications were lost: assume anything changed
    // The first few events of the batch and its last one, for the log and
    // for policies that want to look closer (e.g. ignore Wi-Fi chatter).
    std::array<NetEvent, kSample> sample{};
    std::size_t sampled = 0;
    NetEvent last{}; // valid when events() > 0

    std::uint32_t events() const { return links + addresses + routes; }
    // Every event is in `sample` (nothing was lost or left out).
    bool complete() const { return !overrun && sampled == events(); }
};

// The events for the log, ", "-joined: the sampled ones, then "+N more"
// and the last one when the sample is full, then "overrun" if it applies:
// "route+ fd00:999::/64 dev 3 metric 1024 table 254".
std::string describe(const NetChanges& changes);

class RouteMonitor {
public:
    using OnChange = std::function<void(const NetChanges&)>;

    struct Options {
        std::uint64_t coalesce_ms = 150;
        // SO_RCVBUF(FORCE) for the socket; 0 keeps the system default.
        // Tests set it tiny to provoke ENOBUFS.
        int rcvbuf = 1 << 20;
    };

    // No syscalls: the socket is opened by start().
    RouteMonitor(loop::Loop& loop, Options opts, OnChange on_change);
    ~RouteMonitor();
    RouteMonitor(const RouteMonitor&) = delete;
    RouteMonitor& operator=(const RouteMonitor&) = delete;

    // Opens the socket, joins the groups and starts watching it. Calling it
    // while running is a no-op. Errors: System (socket or bind failed).
    Status start();
    // Closes the socket and drops a batch not yet delivered.
    void stop();
    bool running() const { return sock_ != nullptr; }

    std::uint64_t batches() const { return batches_; }   // callbacks made
    std::uint64_t events() const { return events_; }     // events parsed
    std::uint64_t overruns() const { return overruns_; } // ENOBUFS and bad datagrams

private:
    using Socket = std::unique_ptr<mnl_socket, Free<mnl_socket_close>>;

    void on_poll(int status);
    void on_readable();
    bool read_one(); // false: nothing more to read now
    void on_datagram(Bytes datagram);
    void note(const NetEvent& ev);
    void note_overrun();
    void arm();
    void on_window_end();

    loop::Loop& loop_; // outlives the monitor
    Options opts_;
    OnChange on_change_;
    Socket sock_;
    std::unique_ptr<loop::Poll> poll_; // declared after sock_: closed before it
    loop::Timer window_;
    NetChanges pending_;
    bool has_pending_ = false;
    std::vector<std::uint8_t> buf_;
    std::uint64_t batches_ = 0;
    std::uint64_t events_ = 0;
    std::uint64_t overruns_ = 0;
};

} // namespace enftun::netlink
