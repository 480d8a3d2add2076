// RouteBatch: builds rtnetlink requests for IPv6 host routes (/128) out of
// one interface into one buffer, so that many route changes reach the kernel
// in a single sendto() (the kernel handles every message of a datagram in
// turn). Also the dump request and the parser that read routes back, to
// find the routes of one routing protocol number. Pure: no socket, no
// syscalls; the socket is HostRoutes (host_routes.hpp).
//
// Requests carry NLM_F_REQUEST but not NLM_F_ACK: the kernel answers only
// the ones that fail (an NLMSG_ERROR naming the request's sequence number),
// so a batch of thousands costs no thousands of acks.
//
// IPv4 host routes (inner IPv4, /32) are written as IPv4-mapped IPv6
// addresses (::ffff:a.b.c.d, ipv4_route_dst()) with 96 added to the length
// (/128 for a /32): put into requests as AF_INET, and read back from dumps
// (which list both families) in the same form.
#pragma once

#include "enftun/proto/ipv4.hpp"
#include "enftun/proto/ipv6_addr.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

struct nlmsghdr;

namespace enftun::netlink {

// What the routes of one owner have in common.
struct RouteOwner {
    unsigned ifindex = 0;      // the interface the routes point into
    std::uint8_t protocol = 0; // rtm_protocol: who installed them (RTPROT_*)
    std::uint32_t table = 254; // routing table (RT_TABLE_MAIN = 254)
};

// A route as read back from the kernel (RTM_NEWROUTE in a dump).
struct RouteInfo {
    proto::Ipv6Addr dst{};
    std::uint8_t dst_len = 0;
    std::uint8_t protocol = 0;
    std::uint32_t table = 0;
    unsigned oif = 0; // 0: none given
};

class RouteBatch {
public:
    // Largest size of one host-route request (header, rtmsg, attributes).
    static constexpr std::size_t kMaxMessage = 128;

    // capacity: bytes of the datagram to build (at least kMaxMessage).
    explicit RouteBatch(std::size_t capacity);

    // Appends an RTM_NEWROUTE (create or replace) / RTM_DELROUTE of dst/128
    // for owner with sequence number seq. False when the batch is full (then
    // nothing was appended): send it and clear it first.
    bool add_route(const RouteOwner& owner, const proto::Ipv6Addr& dst, std::uint32_t seq);
    bool delete_route(const RouteOwner& owner, const proto::Ipv6Addr& dst, std::uint8_t dst_len,
                      std::uint32_t seq);

    std::span<const std::uint8_t> bytes() const { return {buf_.data(), used_}; }
    std::size_t count() const { return count_; }
    bool empty() const { return count_ == 0; }
    void clear() {
        used_ = 0;
        count_ = 0;
    }

private:
    bool put(const RouteOwner& owner, const proto::Ipv6Addr& dst, std::uint8_t dst_len,
             std::uint16_t type, std::uint16_t flags, std::uint32_t seq);

    std::vector<std::uint8_t> buf_; // operator new: aligned for nlmsghdr
    std::size_t used_ = 0;
    std::size_t count_ = 0;
};

// Whether dst/dst_len is an IPv4 route in the mapped form above.
bool is_ipv4_route(const proto::Ipv6Addr& dst, std::uint8_t dst_len);
// The mapped form of an IPv4 address (its /32 is then a /128).
proto::Ipv6Addr ipv4_route_dst(const proto::Ipv4Addr& addr);

// Writes an RTM_GETROUTE dump request for every IPv6 and IPv4 route into buf
// (at least kMaxMessage bytes, aligned for nlmsghdr) and returns its length.
std::size_t build_route_dump(std::span<std::uint8_t> buf, std::uint32_t seq);

// Reads one RTM_NEWROUTE message of the IPv6 or (mapped) IPv4 family; nullopt for any other
// message or a malformed one (attributes are bounds-checked by libmnl).
std::optional<RouteInfo> parse_route(const nlmsghdr* nlh);

} // namespace enftun::netlink
