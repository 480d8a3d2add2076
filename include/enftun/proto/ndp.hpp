// Neighbor Discovery (RFC 4861) messages and options, with the Route
// Information option of RFC 4191: a validating parser for router/neighbor
// solicitations and advertisements, and builders for the two messages a
// router card answers with (RA, NA). Pure: no syscalls, no allocation.
//
// Lifetime: NdView and NdOptionReader store only spans of the message they
// were made from; the packet bytes must outlive them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "enftun/proto/icmpv6.hpp"
#include "enftun/proto/ipv6.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/util/bytes.hpp"
#include "enftun/util/result.hpp"

namespace enftun::proto {

// RFC 4291 §2.7.1: the link-local all-nodes group, where RAs go.
inline constexpr Ipv6Addr kAllNodes{{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}};

// RFC 4861 §6.1, §7.1: every ND message is sent and received with hop
// limit 255, proving it was not forwarded by a router.
inline constexpr std::uint8_t kNdHopLimit = 255;

// Fixed part of each message, ICMPv6 header included (RFC 4861 §4.1-4.4).
inline constexpr std::size_t kNdRsLen = 8;
inline constexpr std::size_t kNdRaLen = 16;
inline constexpr std::size_t kNdNsLen = 24;
inline constexpr std::size_t kNdNaLen = 24;

// RFC 4861 §4.2: RA fields (offsets in the ICMPv6 message).
inline constexpr std::size_t kNdRaCurHopLimitOffset = 4;
inline constexpr std::size_t kNdRaFlagsOffset = 5;
inline constexpr std::size_t kNdRaRouterLifetimeOffset = 6;
inline constexpr std::size_t kNdRaReachableOffset = 8;
inline constexpr std::size_t kNdRaRetransOffset = 12;
inline constexpr std::uint8_t kRaFlagManaged = 0x80; // M: addresses via DHCPv6
inline constexpr std::uint8_t kRaFlagOther = 0x40;   // O: other config via DHCPv6
// RFC 4191 §2.2: the router preference sits in bits 4-3 of the flags byte;
// the Route Information option uses the same position in its own flags.
inline constexpr std::uint8_t kNdPrfShift = 3;
inline constexpr std::uint8_t kNdPrfMask = 0x18;

// RFC 4861 §4.3/§4.4: NS and NA carry the target address after 4 bytes.
inline constexpr std::size_t kNdNaFlagsOffset = 4;
inline constexpr std::size_t kNdTargetOffset = 8;
inline constexpr std::uint8_t kNaFlagRouter = 0x80;
inline constexpr std::uint8_t kNaFlagSolicited = 0x40;
inline constexpr std::uint8_t kNaFlagOverride = 0x20;

// Options (RFC 4861 §4.6; RFC 4191 §2.3): type, length in units of 8 bytes.
inline constexpr std::size_t kNdOptUnit = 8;
inline constexpr std::uint8_t kNdOptSourceLinkAddr = 1;
inline constexpr std::uint8_t kNdOptTargetLinkAddr = 2;
inline constexpr std::uint8_t kNdOptPrefixInfo = 3;
inline constexpr std::uint8_t kNdOptMtu = 5;
inline constexpr std::uint8_t kNdOptRouteInfo = 24;
inline constexpr std::size_t kNdOptMtuLen = 8;
inline constexpr std::size_t kNdOptLinkAddrLen = 8;   // for a 6-byte (EUI-48) address
inline constexpr std::size_t kNdOptRouteInfoLen = 24; // as we send it (Length 3)

// RFC 4191 §2.1: two-bit preference; 2 (binary 10) is reserved.
enum class RouterPreference : std::uint8_t { Medium = 0, High = 1, Low = 3 };

// An EUI-48 link-layer address, as in the link-layer address options.
using LinkAddr = std::array<std::uint8_t, 6>;

// Walks an options area. On bytes that parse_nd validated it returns every
// option; on anything else it stops at the first option that does not fit.
class NdOptionReader {
public:
    explicit NdOptionReader(Bytes options) : rest_(options) {}
    // The next whole option (type, length and body), or nullopt at the end.
    std::optional<Bytes> next();

private:
    Bytes rest_;
};

class NdView {
public:
    std::uint8_t type() const { return load_u8(msg_, kIcmpv6TypeOffset); }
    Bytes message() const { return msg_; }
    // The options area after the fixed part of the message.
    Bytes options() const { return msg_.subspan(fixed_len_); }
    // The first option of `opt_type`, whole; nullopt if there is none.
    std::optional<Bytes> find_option(std::uint8_t opt_type) const;

    // NS and NA only.
    Ipv6Addr target() const;
    // NA only.
    std::uint8_t na_flags() const { return load_u8(msg_, kNdNaFlagsOffset); }
    // RA only.
    std::uint8_t ra_flags() const { return load_u8(msg_, kNdRaFlagsOffset); }
    std::uint16_t router_lifetime() const { return load_be16(msg_, kNdRaRouterLifetimeOffset); }

private:
    friend Result<NdView> parse_nd(const Ipv6View& ip, const Icmpv6View& icmp);
    NdView(Bytes msg, std::size_t fixed_len) : msg_(msg), fixed_len_(fixed_len) {}

    Bytes msg_;
    std::size_t fixed_len_;
};

// Validates an RS, RA, NS or NA as RFC 4861 §6.1.1, §6.1.2, §7.1.1 and
// §7.1.2 ask of a receiver (parse_icmpv6 has checked the checksum).
// Errors:
//   Unsupported - another ICMPv6 type;
//   Truncated   - shorter than the message's fixed part, or an option
//                 runs past the end of the message;
//   Malformed   - hop limit not 255, code not 0, an option of length 0, a
//                 multicast source, an RA from a non-link-local source, an NS/NA target that is
//                 multicast, a link-layer address option in an RS or NS
//                 from the unspecified address, an NS from the unspecified
//                 address not sent to a solicited-node group, or a
//                 multicast NA with the Solicited flag set.
[[nodiscard]] Result<NdView> parse_nd(const Ipv6View& ip, const Icmpv6View& icmp);

// True for ff02::1:ffXX:XXXX (RFC 4291 §2.7.1).
bool is_solicited_node_multicast(const Ipv6Addr& a);

// One Route Information option (RFC 4191 §2.3).
struct RouteInfo {
    Ipv6Addr prefix;
    std::uint8_t prefix_len = 0; // 0..128
    RouterPreference preference = RouterPreference::Medium;
    std::uint32_t lifetime_s = 0; // 0xffffffff: infinite
};

struct RaParams {
    Ipv6Addr src;
    Ipv6Addr dst;
    std::uint8_t cur_hop_limit = 0; // 0: unspecified by this router
    std::uint8_t flags = 0;         // kRaFlagManaged | kRaFlagOther
    RouterPreference preference = RouterPreference::Medium;
    std::uint16_t router_lifetime_s = 0; // 0: not a default router
    std::uint32_t mtu = 0;               // 0: no MTU option
    std::optional<LinkAddr> lladdr;      // Source Link-Layer Address option
    std::span<const RouteInfo> routes;
};

// Writes an IPv6 packet holding a Router Advertisement (RFC 4861 §4.2),
// hop limit 255, reachable time and retrans timer 0 (unspecified), options
// in radvd's order: one Route Information option per route (always Length
// 3, prefix bits past prefix_len zero, RFC 4191 §2.3), MTU, source
// link-layer address. The preference is sent as given even with router
// lifetime 0, where RFC 4191 §2.2 asks for 00 and has receivers ignore it
// (radvd and the original enftun do the same).
// Errors: NoSpace if `out` is too small; Malformed if a prefix_len > 128.
[[nodiscard]] Result<std::size_t> build_router_advertisement(const RaParams& p, MutBytes out);

struct NaParams {
    Ipv6Addr src;
    Ipv6Addr dst;
    Ipv6Addr target;
    std::uint8_t flags = 0;         // kNaFlagRouter | kNaFlagSolicited | kNaFlagOverride
    std::optional<LinkAddr> lladdr; // Target Link-Layer Address option
};

// Writes an IPv6 packet holding a Neighbor Advertisement (RFC 4861 §4.4),
// hop limit 255. Errors: NoSpace if `out` is too small.
[[nodiscard]] Result<std::size_t> build_neighbor_advertisement(const NaParams& p, MutBytes out);

} // namespace enftun::proto
