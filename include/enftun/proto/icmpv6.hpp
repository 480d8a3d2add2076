// ICMPv6 (RFC 4443): type numbers, a read-only view over a checksum-verified
// message, and echo request/reply builders that write a whole IPv6 packet.
// NDP (RFC 4861) message bodies belong to proto/ndp; only their type numbers
// live here.
//
// Lifetime: Icmpv6View stores only the span of the message it was parsed
// from; the packet bytes must outlive the view.
#pragma once

#include <cstddef>
#include <cstdint>

#include "enftun/proto/ipv6.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/util/bytes.hpp"
#include "enftun/util/result.hpp"

namespace enftun::proto {

// RFC 4443 §2.1: type, code, checksum; the body follows.
inline constexpr std::size_t kIcmpv6HeaderLen = 4;
inline constexpr std::size_t kIcmpv6TypeOffset = 0;
inline constexpr std::size_t kIcmpv6CodeOffset = 1;
inline constexpr std::size_t kIcmpv6ChecksumOffset = 2;
// RFC 4443 §4.1/§4.2: echo messages add identifier and sequence number.
inline constexpr std::size_t kIcmpv6EchoHeaderLen = 8;
inline constexpr std::size_t kIcmpv6EchoIdOffset = 4;
inline constexpr std::size_t kIcmpv6EchoSeqOffset = 6;

inline constexpr std::uint8_t kIcmpv6EchoRequest = 128;           // RFC 4443 §4.1
inline constexpr std::uint8_t kIcmpv6EchoReply = 129;             // RFC 4443 §4.2
inline constexpr std::uint8_t kIcmpv6RouterSolicitation = 133;    // RFC 4861 §4.1
inline constexpr std::uint8_t kIcmpv6RouterAdvertisement = 134;   // RFC 4861 §4.2
inline constexpr std::uint8_t kIcmpv6NeighborSolicitation = 135;  // RFC 4861 §4.3
inline constexpr std::uint8_t kIcmpv6NeighborAdvertisement = 136; // RFC 4861 §4.4
inline constexpr std::uint8_t kIcmpv6Redirect = 137;              // RFC 4861 §4.5

// RFC 4861 §4.1-§4.5: RS, RA, NS, NA, Redirect. Link-scoped: a receiver
// takes one only with hop limit 255, i.e. never one that crossed a router.
inline bool is_nd_type(std::uint8_t type) {
    return type >= kIcmpv6RouterSolicitation && type <= kIcmpv6Redirect;
}

class Icmpv6View {
public:
    std::uint8_t type() const { return load_u8(msg_, kIcmpv6TypeOffset); }
    std::uint8_t code() const { return load_u8(msg_, kIcmpv6CodeOffset); }
    std::uint16_t checksum() const { return load_be16(msg_, kIcmpv6ChecksumOffset); }
    // Bytes after the 4-byte type/code/checksum header.
    Bytes body() const { return msg_.subspan(kIcmpv6HeaderLen); }
    // The whole ICMPv6 message (the IPv6 payload).
    Bytes message() const { return msg_; }

    bool is_echo() const { return type() == kIcmpv6EchoRequest || type() == kIcmpv6EchoReply; }
    // Echo fields; only for is_echo() messages, which parse_icmpv6 has
    // checked to hold the 8-byte echo header.
    std::uint16_t echo_id() const { return load_be16(msg_, kIcmpv6EchoIdOffset); }
    std::uint16_t echo_seq() const { return load_be16(msg_, kIcmpv6EchoSeqOffset); }
    Bytes echo_data() const { return msg_.subspan(kIcmpv6EchoHeaderLen); }

private:
    friend Result<Icmpv6View> parse_icmpv6(const Ipv6View& ip);
    explicit Icmpv6View(Bytes msg) : msg_(msg) {}

    Bytes msg_;
};

// Parses the ICMPv6 message carried directly in `ip`'s payload. Extension
// headers are not walked: a packet whose first next header is not ICMPv6 is
// Unsupported, even if ICMPv6 follows a hop-by-hop header (MLD does that; we
// do not speak MLD). Errors:
//   Unsupported - next header is not 58;
//   Truncated   - fewer than 4 bytes, or fewer than 8 for an echo type;
//   Malformed   - the checksum (RFC 4443 §2.3) does not verify.
[[nodiscard]] Result<Icmpv6View> parse_icmpv6(const Ipv6View& ip);

// Writes an IPv6 packet holding an echo request (RFC 4443 §4.1) into `out`
// and returns its length. Hop limit is always kDefaultHopLimit (64), even for
// a link-local or multicast dst: echo has no hop-limit rule, unlike NDP, and
// 64 also reaches a router that forwards beyond the link.
// Errors: NoSpace if `out` is too small or data makes the payload > 65535.
[[nodiscard]] Result<std::size_t> build_echo_request(const Ipv6Addr& src, const Ipv6Addr& dst,
                                                     std::uint16_t id, std::uint16_t seq,
                                                     Bytes data, MutBytes out);

// Writes the echo reply (RFC 4443 §4.2) to `request` into `out`: from
// reply_src to the request's source, same identifier, sequence number and
// data, hop limit 64. `out` may be the request packet's own buffer (same
// start address: the reply is built in place) or a disjoint buffer; any other
// overlap is not allowed. Errors: Unsupported if `request` is not an echo
// request; NoSpace if `out` is too small.
[[nodiscard]] Result<std::size_t> build_echo_reply(const Icmpv6View& request,
                                                   const Ipv6View& request_ip,
                                                   const Ipv6Addr& reply_src, MutBytes out);

} // namespace enftun::proto
