// Packet policy between the TUN device and the tunnel. Each filter looks at
// one packet, returns a Verdict, and counts what it accepted and dropped.
//
//   EgressFilter  (TUN -> tunnel): an IPv6 packet must come from our address.
//   IngressFilter (tunnel -> TUN): an IPv6 packet must be addressed to us.
//   Both: Neighbor Discovery never crosses the tunnel: the tunnel is routed,
//   and ND is link-scoped (RFC 4861: hop limit 255, which nothing on the
//   way lowers here), so one arriving from the router is another client's
//   forgery and one leaving would be forwarded as such.
//   Both: a malformed packet is dropped; IPv4 passes only if allowed (and
//   must still parse, so the TUN never sees a broken header). With an IPv4
//   address of our own (self4), IPv4 is held to the same rule as IPv6: our
//   source out, our destination in; without one, any allowed IPv4 passes.
//
// Drops are counted and logged at debug level, rate-limited per filter
// (STYLE.md §4: a bad packet is dropped and counted, never fatal). Neither
// filter allocates per packet. Consume is for responders that answer a packet
// themselves (NDP, DHCPv6); these two filters never return it.
//
// Lifetime: a filter is a value owned by its pipe; it keeps no pointer to
// the packets it has seen.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "enftun/proto/ipv4.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/util/bytes.hpp"

namespace enftun::filter {

enum class Verdict { Accept, Drop, Consume };

enum class DropReason {
    None,              // not dropped
    Malformed,         // not a well-formed IPv4/IPv6 packet
    Ipv4NotAllowed,    // IPv4 while the configuration allows only IPv6
    WrongSource,       // egress packet whose source is not our address
    WrongDestination,  // ingress packet whose destination is not our address
    NeighborDiscovery, // an ND message (RS, RA, NS, NA, Redirect): link-scoped
    Count_             // number of reasons; not a reason
};

struct FilterStats {
    std::uint64_t accepted = 0;
    std::array<std::uint64_t, static_cast<std::size_t>(DropReason::Count_)> dropped{};

    std::uint64_t dropped_for(DropReason r) const { return dropped[static_cast<std::size_t>(r)]; }
};

// Short lower-case name for logs and stats ("wrong source").
const char* to_string(DropReason reason);

class EgressFilter {
public:
    // self: the address our side of the tunnel owns (the certificate CN);
    // self4: our IPv4 address, if we know one (tun.ipv4_address).
    EgressFilter(proto::Ipv6Addr self, bool allow_ipv4,
                 std::optional<proto::Ipv4Addr> self4 = std::nullopt);

    // Accept or Drop; on Drop, last_reason() says why.
    Verdict check(Bytes pkt);
    const FilterStats& stats() const { return stats_; }
    // Reason for the latest verdict; None after an Accept.
    DropReason last_reason() const { return last_reason_; }

private:
    Verdict drop(DropReason reason, Bytes pkt);

    proto::Ipv6Addr self_;
    std::optional<proto::Ipv4Addr> self4_;
    bool allow_ipv4_;
    FilterStats stats_;
    DropReason last_reason_ = DropReason::None;
};

class IngressFilter {
public:
    IngressFilter(proto::Ipv6Addr self, bool allow_ipv4,
                  std::optional<proto::Ipv4Addr> self4 = std::nullopt);

    Verdict check(Bytes pkt);
    const FilterStats& stats() const { return stats_; }
    DropReason last_reason() const { return last_reason_; }

private:
    Verdict drop(DropReason reason, Bytes pkt);

    proto::Ipv6Addr self_;
    std::optional<proto::Ipv4Addr> self4_;
    bool allow_ipv4_;
    FilterStats stats_;
    DropReason last_reason_ = DropReason::None;
};

} // namespace enftun::filter
