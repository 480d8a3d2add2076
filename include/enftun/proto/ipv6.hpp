// IPv6 fixed header (RFC 8200 §3): named offsets, next-header numbers, a
// read-only view over a validated packet, and a header builder.
//
// Lifetime: Ipv6View stores only the span it was parsed from; the bytes must
// outlive the view and stay unchanged while it is used.
#pragma once

#include <cstddef>
#include <cstdint>

#include "enftun/packet/packet_writer.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/util/bytes.hpp"
#include "enftun/util/result.hpp"

namespace enftun::proto {

// RFC 8200 §3: fixed header layout.
inline constexpr std::size_t kIpv6HeaderLen = 40;
inline constexpr std::size_t kIpv6VersionOffset = 0; // high nibble of byte 0
inline constexpr std::size_t kIpv6PayloadLengthOffset = 4;
inline constexpr std::size_t kIpv6NextHeaderOffset = 6;
inline constexpr std::size_t kIpv6HopLimitOffset = 7;
inline constexpr std::size_t kIpv6SrcOffset = 8;
inline constexpr std::size_t kIpv6DstOffset = 24;
inline constexpr std::size_t kIpv6AddrLen = 16;
inline constexpr std::uint8_t kIpv6Version = 6;
// RFC 8200 §3: payload length is 16 bits; more needs a jumbogram (RFC 2675).
inline constexpr std::size_t kIpv6MaxPayload = 65535;

// Next-header values (IANA "Assigned Internet Protocol Numbers"; the
// extension headers are RFC 8200 §4).
inline constexpr std::uint8_t kProtoHopByHop = 0;     // RFC 8200 §4.3
inline constexpr std::uint8_t kProtoTcp = 6;          // RFC 9293
inline constexpr std::uint8_t kProtoUdp = 17;         // RFC 768
inline constexpr std::uint8_t kProtoRouting = 43;     // RFC 8200 §4.4
inline constexpr std::uint8_t kProtoFragment = 44;    // RFC 8200 §4.5
inline constexpr std::uint8_t kProtoIcmpv6 = 58;      // RFC 4443
inline constexpr std::uint8_t kProtoNoNext = 59;      // RFC 8200 §4.7
inline constexpr std::uint8_t kProtoDestOptions = 60; // RFC 8200 §4.6

// Hop limit for packets we originate (RFC 8200 §3 leaves it to the node;
// 64 is Linux's default). NDP messages need 255 (RFC 4861 §6.1) and set it
// themselves.
inline constexpr std::uint8_t kDefaultHopLimit = 64;

class Ipv6View {
public:
    std::uint16_t payload_length() const { return load_be16(pkt_, kIpv6PayloadLengthOffset); }
    std::uint8_t next_header() const { return load_u8(pkt_, kIpv6NextHeaderOffset); }
    std::uint8_t hop_limit() const { return load_u8(pkt_, kIpv6HopLimitOffset); }
    Ipv6Addr src() const { return addr_at(kIpv6SrcOffset); }
    Ipv6Addr dst() const { return addr_at(kIpv6DstOffset); }
    // Everything after the fixed header (extension headers included).
    Bytes payload() const { return pkt_.subspan(kIpv6HeaderLen); }
    Bytes packet() const { return pkt_; }

private:
    friend Result<Ipv6View> parse_ipv6(Bytes pkt);
    explicit Ipv6View(Bytes pkt) : pkt_(pkt) {}
    Ipv6Addr addr_at(std::size_t off) const;

    Bytes pkt_;
};

// Validates the fixed header of one whole IPv6 packet (a TUN read or a frame
// payload holds exactly one). Errors:
//   Truncated   - fewer than 40 bytes;
//   Malformed   - version is not 6, or 40 + payload length != pkt.size();
//   Unsupported - payload length 0 with bytes after the header (a jumbogram,
//                 RFC 2675, which a 16-bit frame length cannot carry anyway).
// Extension headers are not walked here.
[[nodiscard]] Result<Ipv6View> parse_ipv6(Bytes pkt);

// Appends a fixed IPv6 header with traffic class and flow label 0.
void build_ipv6_header(packet::PacketWriter& w, std::uint16_t payload_length,
                       std::uint8_t next_header, std::uint8_t hop_limit, const Ipv6Addr& src,
                       const Ipv6Addr& dst);

} // namespace enftun::proto
