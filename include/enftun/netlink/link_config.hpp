// LinkConfig: a blocking rtnetlink request socket (libmnl) that configures one
// interface at startup: MTU, up, an IPv6 address, IPv6 routes. It is used
// before the loop starts moving packets, so its synchronous request/ack
// round trips never stall the data path. Every request is idempotent
// (NLM_F_REPLACE), so a restart over an already-configured device succeeds.
#pragma once

#include "enftun/proto/ipv4.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/util/result.hpp"
#include "enftun/util/unique_fd.hpp"

#include <libmnl/libmnl.h>

#include <cstdint>
#include <memory>

namespace enftun::netlink {

// Transmit queue of a TUN: the kernel's ring of packets waiting for our
// read(). A TUN never stops its queue, so when the daemon falls behind (its
// TLS socket is full) a packet beyond this many is dropped. The default of
// 500 dropped ~1% of a single iperf3 stream (inner TCP retransmits, -20%
// throughput, bench/README.md); 5000 dropped none.
constexpr std::uint32_t kTunTxQueueLen = 5000;

class LinkConfig {
public:
    // Errors: System (socket or bind failed).
    static Result<LinkConfig> create();

    // Sets the MTU and a TUN-sized transmit queue (kTunTxQueueLen) and brings
    // the link up. Errors: System (kernel NACK, sys = errno).
    Status set_mtu_up(unsigned ifindex, std::uint32_t mtu);
    // Adds addr/prefix_len without duplicate address detection (a TUN has no
    // neighbours to collide with). Errors: System.
    Status add_address(unsigned ifindex, const proto::Ipv6Addr& addr, std::uint8_t prefix_len);
    // Adds the IPv4 address addr/32 (inner IPv4). Errors: System.
    Status add_ipv4_address(unsigned ifindex, const proto::Ipv4Addr& addr);
    // Routes prefix/len out of ifindex in the main table. Errors: System.
    Status add_route(unsigned ifindex, const proto::Ipv6Addr& prefix, std::uint8_t prefix_len);

private:
    using Socket = std::unique_ptr<mnl_socket, Free<mnl_socket_close>>;
    explicit LinkConfig(Socket s) : sock_(std::move(s)) {}
    Status request(nlmsghdr* nlh, const char* what);

    Socket sock_;
    std::uint32_t seq_ = 1;
};

} // namespace enftun::netlink
