// client_route: where the router sends a packet a client wrote, decided on
// its destination alone (the source was checked before). Pure.
//
//   fe80::1 or router.address       ─► Local (the router answers it)
//   not a global unicast address    ─► NotGlobal (dropped, counted)
//   anything else                   ─► Forward (a client, or the gateway TUN)
//
// Not global (RFC 4291 section 2.4, RFC 6890): :: (unspecified), ::1
// (loopback), ::ffff:0:0/96 (IPv4-mapped: never on the wire), fe80::/10
// (link-local: this link is the tunnel, and the router is its only other
// end), fec0::/10 (deprecated site-local, RFC 3879) and ff00::/8 (multicast
// of any scope: the router forwards unicast only). The gateway TUN's host
// would otherwise take such packets as its own link's: a client could reach
// its link-local neighbours, its loopback services or its multicast groups.
#pragma once

#include "enftun/proto/ipv4.hpp"
#include "enftun/proto/ipv6_addr.hpp"

#include <optional>
#include <vector>

namespace enftun::router {

enum class ClientRoute {
    Local,     // addressed to the router itself
    NotGlobal, // must not leave the tunnel link: drop and count
    Forward,   // to a client or the gateway TUN
};

ClientRoute route_from_client(const proto::Ipv6Addr& dst, const proto::Ipv6Addr& router_address);

// Whether dst is none of the non-global ranges above.
bool is_global_destination(const proto::Ipv6Addr& dst);

// Inner IPv4 (router.ipv4_client_prefixes), source and destination both:
//
//   IPv4 off (client_prefixes empty)  ─► Off (dropped, counted not-ipv6)
//   source is not the client's bound
//   IPv4 (or it has none)             ─► Spoofed (dropped, counted)
//   destination not unicast-routable
//   (proto::is_routable_unicast), or
//   the network or broadcast address
//   of a client prefix                ─► NotGlobal (dropped, counted)
//   anything else                     ─► Forward (a client, or the TUN)
//
// The router has no IPv4 address of its own, so nothing is Local. The
// clients' prefixes are no broadcast domain: a subnet-directed broadcast
// (RFC 2644) would otherwise go on to the gateway TUN's host as unicast.
enum class Ipv4Route { Off, Spoofed, NotGlobal, Forward };

Ipv4Route route_ipv4_from_client(const proto::Ipv4Addr& src, const proto::Ipv4Addr& dst,
                                 const std::optional<proto::Ipv4Addr>& bound,
                                 const std::vector<proto::Ipv4Prefix>& client_prefixes);

// Whether dst is the network or broadcast address of one of the prefixes
// (proto::is_subnet_edge): no client's, never forwarded.
bool is_client_subnet_edge(const proto::Ipv4Addr& dst,
                           const std::vector<proto::Ipv4Prefix>& client_prefixes);

} // namespace enftun::router
