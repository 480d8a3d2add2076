// SessionRoutes: each session's address as a host route (/128) in the
// kernel, through the router's gateway TUN, so that a routing daemon (BIRD,
// conf/bird-router.conf) can carry it to other routers. The routes carry
// their own protocol number (router.tun.route_protocol) in
// router.tun.route_table: that is how the daemon, and our own start, tell
// them from every other route.
//
//   start   ─► delete every route of our protocol (a crash leaves them)
//   up      ─► queue "add A"      \  a 0 ms timer sends what is queued in
//   down    ─► queue "delete A"   /  batches (one sendto each), in order
//   stop    ─► drop the queue, delete every route of our protocol
//
// The data path never waits: add()/remove() only append to a queue; the
// kernel sees the changes from the next loop iteration on, at most
// kRoutesPerSend per iteration so that 10,000 sessions coming up at once do
// not hold the loop for long. Order is kept, so a session replaced by
// another for the same address (delete, then add) ends with the route in
// place. Requests the kernel refuses are counted (failures()) and logged
// rate-limited by netlink::HostRoutes.
//
// Lifetime: owned by the Router; the loop must outlive it.
#pragma once

#include "enftun/loop/loop.hpp"
#include "enftun/netlink/host_routes.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/util/result.hpp"

#include <cstdint>
#include <deque>
#include <memory>

namespace enftun::router {

class SessionRoutes {
public:
    // Requests in one datagram: ~100 bytes each, and the kernel's work for
    // one datagram (~1-2 µs per route) stays well under a millisecond.
    static constexpr std::size_t kRoutesPerSend = 256;

    // Opens the netlink socket and removes stale routes of owner.protocol
    // in owner.table (logged when there were any). Errors: System.
    static Result<std::unique_ptr<SessionRoutes>> create(loop::Loop& loop,
                                                         netlink::RouteOwner owner);

    void add(const proto::Ipv6Addr& addr) { enqueue(addr, true); }
    void remove(const proto::Ipv6Addr& addr) { enqueue(addr, false); }
    // Forgets what is queued and deletes every route of ours, at once.
    // Later add()/remove() calls are ignored.
    void stop();

    std::uint64_t sent() const { return sent_; }
    std::uint64_t failures() const { return routes_->failures(); }
    std::size_t queued() const { return queue_.size(); }

private:
    struct Change {
        proto::Ipv6Addr addr;
        bool install;
    };
    SessionRoutes(loop::Loop& loop, std::unique_ptr<netlink::HostRoutes> routes);
    void enqueue(const proto::Ipv6Addr& addr, bool install);
    void send_some();

    std::unique_ptr<netlink::HostRoutes> routes_;
    netlink::RouteBatch batch_;
    std::deque<Change> queue_;
    loop::Timer timer_;
    std::uint64_t sent_ = 0;
    bool stopped_ = false;
};

} // namespace enftun::router
