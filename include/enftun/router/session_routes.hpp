// SessionRoutes: each session's address as a host route (/128; its inner
// IPv4 address, when it has one, as a /32) in the
// kernel, through the router's gateway TUN, so that a routing daemon (BIRD,
// conf/bird-router.conf) can carry it to other routers. The routes carry
// their own protocol number (router.tun.route_protocol) in
// router.tun.route_table: that is how the daemon, and our own start, tell
// them from every other route.
//
//   start   ─► delete every route of our protocol (a crash leaves them),
//              and those of the table and protocol route_record.hpp recorded
//   up      ─► queue "add A"      \  an idle handle sends what is queued,
//   down    ─► queue "delete A"   /  one batch (one sendto) per loop
//                                    iteration, in order
//   stop    ─► drop the queue, delete every route of our protocol, and the record
//
// The data path never waits: add()/remove() only append to a queue; the
// kernel sees the changes from the next loop iteration on, at most
// kRoutesPerSend per iteration, and the loop polls its sockets between two
// batches (an idle handle, not a 0 ms timer: libuv 1.44 runs a timer
// re-armed from its own callback again before polling), so 10,000 sessions
// coming up at once do not hold the loop for long. Order is kept, so a session replaced by
// another for the same address (delete, then add) ends with the route in
// place. Requests the kernel refuses are counted (failures()) and logged
// rate-limited by netlink::HostRoutes.
//
// Lifetime: owned by the Router; the loop must outlive it.
#pragma once

#include "enftun/loop/loop.hpp"
#include "enftun/netlink/host_routes.hpp"
#include "enftun/netlink/route_batch.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/util/result.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

namespace enftun::router {

class SessionRoutes {
public:
    // Requests in one datagram (~64 bytes each). The kernel applies them
    // inside sendto(), so this bounds how long the loop waits: with 10,000
    // sessions (bench/scale.sh, a shared 2-vCPU VM) ~7 µs per route added
    // on average, ~0.45 ms per batch (the longest single send 6 ms, with
    // 256 per batch 12 ms).
    static constexpr std::size_t kRoutesPerSend = 64;

    // Opens the netlink socket and removes stale routes of owner.protocol
    // in owner.table (logged when there were any). With a record_path
    // (router.tun.route_record, route_record.hpp): also those of the table
    // and protocol an earlier run recorded there, then records ours; a
    // record that cannot be read or written is a warning, not an error.
    // Errors: System.
    static Result<std::unique_ptr<SessionRoutes>>
    create(loop::Loop& loop, netlink::RouteOwner owner, const std::string& record_path);

    void add(const proto::Ipv6Addr& addr) { enqueue(addr, true); }
    void remove(const proto::Ipv6Addr& addr) { enqueue(addr, false); }
    // Inner IPv4: the /32 of a session's IPv4 address, in the same queue.
    void add(const proto::Ipv4Addr& addr) { enqueue(netlink::ipv4_route_dst(addr), true); }
    void remove(const proto::Ipv4Addr& addr) { enqueue(netlink::ipv4_route_dst(addr), false); }
    // Forgets what is queued and deletes every route of ours, at once.
    // Later add()/remove() calls are ignored.
    void stop();

    std::uint64_t sent() const { return sent_; }
    // The longest one send of a batch took (the loop is blocked that long),
    // and all of them together.
    std::uint64_t max_send_us() const { return max_send_us_; }
    std::uint64_t send_us() const { return send_us_; }
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
    loop::Idle sender_; // started while queue_ holds anything
    std::uint64_t sent_ = 0;
    std::uint64_t max_send_us_ = 0;
    std::uint64_t send_us_ = 0;
    bool stopped_ = false;
    std::string record_path_; // written at create(), removed at a clean stop()
};

} // namespace enftun::router
