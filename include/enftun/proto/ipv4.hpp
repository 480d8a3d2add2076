// IPv4 header (RFC 791 §3.1): named offsets and a read-only view over a
// validated packet. IPv4 only passes through the tunnel when the config
// allows it, so we only check what forwarding needs: version, lengths and
// addresses. Options are not parsed and the header checksum is not verified
// (the kernel verifies it on the receiving side's TUN write).
//
// Lifetime: Ipv4View stores only the span it was parsed from; the bytes must
// outlive the view.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "enftun/util/bytes.hpp"
#include "enftun/util/result.hpp"

namespace enftun::proto {

// RFC 791 §3.1: header layout.
inline constexpr std::size_t kIpv4MinHeaderLen = 20;
inline constexpr std::size_t kIpv4VersionIhlOffset = 0; // version | IHL (32-bit words)
inline constexpr std::size_t kIpv4TotalLengthOffset = 2;
inline constexpr std::size_t kIpv4ProtocolOffset = 9;
inline constexpr std::size_t kIpv4ChecksumOffset = 10;
inline constexpr std::size_t kIpv4SrcOffset = 12;
inline constexpr std::size_t kIpv4DstOffset = 16;
inline constexpr std::uint8_t kIpv4Version = 4;
inline constexpr std::uint8_t kIpv4MinIhl = 5;

using Ipv4Addr = std::array<std::uint8_t, 4>;

// Whether an address can name one host in a tunnel: not 0.0.0.0/8 ("this
// network"), 127.0.0.0/8 (loopback), 169.254.0.0/16 (link-local),
// 224.0.0.0/4 (multicast) nor 240.0.0.0/4 (reserved, broadcast included).
// A certificate or an enrolment that names one of these is refused.
bool is_routable_unicast(const Ipv4Addr& addr);

// An IPv4 prefix (addr/len, len 0..32); in_prefix() says whether an address
// lies inside it.
struct Ipv4Prefix {
    Ipv4Addr addr{};
    std::uint8_t len = 0;
};
bool in_prefix(const Ipv4Prefix& prefix, const Ipv4Addr& addr);
// Whether addr is the network (all host bits 0) or the broadcast (all 1)
// address of a prefix of length 0..30, i.e. names a subnet, not a host.
// A /31 or /32 has no such address (RFC 3021): false.
bool is_subnet_edge(const Ipv4Prefix& prefix, const Ipv4Addr& addr);

class Ipv4View {
public:
    std::uint16_t total_length() const { return load_be16(pkt_, kIpv4TotalLengthOffset); }
    // IHL * 4: the header length in bytes, options included.
    std::size_t header_length() const {
        return std::size_t{4} * (load_u8(pkt_, kIpv4VersionIhlOffset) & 0x0fu);
    }
    std::uint8_t protocol() const { return load_u8(pkt_, kIpv4ProtocolOffset); }
    Ipv4Addr src() const { return addr_at(kIpv4SrcOffset); }
    Ipv4Addr dst() const { return addr_at(kIpv4DstOffset); }
    Bytes packet() const { return pkt_; }

private:
    friend Result<Ipv4View> parse_ipv4(Bytes pkt);
    explicit Ipv4View(Bytes pkt) : pkt_(pkt) {}
    Ipv4Addr addr_at(std::size_t off) const {
        return {pkt_[off], pkt_[off + 1], pkt_[off + 2], pkt_[off + 3]};
    }

    Bytes pkt_;
};

// Validates the header of one whole IPv4 packet. Errors:
//   Truncated - fewer than 20 bytes;
//   Malformed - version is not 4, IHL < 5, header length > total length,
//               or total length != pkt.size().
[[nodiscard]] Result<Ipv4View> parse_ipv4(Bytes pkt);

} // namespace enftun::proto
