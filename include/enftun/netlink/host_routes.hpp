// HostRoutes: the rtnetlink socket through which the router puts its
// clients' host routes (/128, route_batch.hpp) into the kernel, and takes
// them out again. Owns the socket and a read watch on it for the kernel's
// answers to failed requests (requests are sent without NLM_F_ACK, so only
// failures are answered): each is counted and logged rate-limited.
//
// send() is one sendto() of a whole batch; the kernel applies every request
// inside that call, so it never waits on the kernel's answers. remove_all()
// is blocking (a dump and a batch of deletes): for start and stop only.
//
// Lifetime: the loop must outlive it.
#pragma once

#include "enftun/loop/loop.hpp"
#include "enftun/netlink/route_batch.hpp"
#include "enftun/util/result.hpp"
#include "enftun/util/unique_fd.hpp"

#include <libmnl/libmnl.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace enftun::netlink {

class HostRoutes {
public:
    // Errors: System (socket or bind failed).
    static Result<std::unique_ptr<HostRoutes>> create(loop::Loop& loop, RouteOwner owner);
    ~HostRoutes();
    HostRoutes(const HostRoutes&) = delete;
    HostRoutes& operator=(const HostRoutes&) = delete;

    const RouteOwner& owner() const { return owner_; }
    // The next request's sequence number.
    std::uint32_t next_seq() { return seq_++; }

    // Sends every request of batch in one datagram. Errors: System (sendto).
    Status send(const RouteBatch& batch);

    // Deletes every IPv6 route in owner().table whose protocol is
    // owner().protocol, on any interface (left by an earlier run, or ours at
    // stop), and returns how many it deleted. Blocking. Errors: System.
    Result<std::size_t> remove_all();
    // Deletes every route (IPv6 and IPv4) in `table` of `protocol` whose
    // interface is `oif`: another run's, recorded with another table or
    // protocol (router/route_record.hpp). Blocking. Errors: System.
    Result<std::size_t> remove_on(std::uint32_t table, std::uint8_t protocol, unsigned oif);

    // Requests the kernel refused (deleting a route that is gone is not
    // counted: that is the state we wanted).
    std::uint64_t failures() const { return failures_; }

private:
    using Socket = std::unique_ptr<mnl_socket, Free<mnl_socket_close>>;
    HostRoutes(loop::Loop& loop, RouteOwner owner, Socket sock);
    void on_readable();
    // An answer that belongs to no dump: the error of an earlier request.
    void on_answer(const nlmsghdr* nlh);
    // Routes of `table` and `protocol`; on interface oif only unless it is 0.
    Status dump_matching(std::uint32_t table, std::uint8_t protocol, unsigned oif,
                         std::vector<RouteInfo>& out);
    Result<std::size_t> remove_matching(std::uint32_t table, std::uint8_t protocol, unsigned oif);

    RouteOwner owner_;
    Socket sock_;
    std::unique_ptr<loop::Poll> poll_;
    std::vector<std::uint8_t> buf_;
    std::uint32_t seq_ = 1;
    std::uint64_t failures_ = 0;
};

} // namespace enftun::netlink
