// IPv6 extension headers (RFC 8200 §4): a bounded walk of the chain to the
// upper-layer header, for policy that must look past them (the router card
// refuses to forward ND however it is wrapped). Pure: no syscalls, no
// allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "enftun/proto/icmpv6.hpp"
#include "enftun/proto/ipv6.hpp"

namespace enftun::proto {

// RFC 8200 §4.5: the fragment header is 8 bytes; the offset field's 13
// high bits count 8-byte units.
inline constexpr std::size_t kIpv6FragmentHeaderLen = 8;
inline constexpr std::size_t kIpv6FragmentOffsetOffset = 2;
inline constexpr std::uint16_t kIpv6FragmentOffsetMask = 0xfff8;
// RFC 4302 §2.2: AH counts its length in 4-byte units, minus 2.
inline constexpr std::uint8_t kProtoAuth = 51;

// Where the upper-layer header of a packet starts.
struct UpperLayer {
    std::uint8_t protocol = 0;      // the last Next Header value
    std::size_t offset = 0;         // in the packet, after every extension header
    bool extension_headers = false; // any before it
    bool fragment = false;          // a fragment header was among them
    bool first_fragment = true;     // fragment offset 0 (or no fragment header)
};

// Walks the Hop-by-Hop, Routing, Fragment, Destination Options and
// Authentication headers from the IPv6 header on; anything else is the
// upper layer (including ESP and No Next Header, whose contents are opaque).
// A non-first fragment stops the walk at its fragment header: what follows
// is data, not headers. Nullopt when a header runs past the packet's end.
std::optional<UpperLayer> find_upper_layer(const Ipv6View& ip);

// The ICMPv6 type of an ND message (is_nd_type), directly after the IPv6
// header or behind extension headers, in a whole packet or a first
// fragment; nullopt for anything else (a non-first fragment cannot be told).
std::optional<std::uint8_t> nd_type(const Ipv6View& ip);

} // namespace enftun::proto
