// UDP over IPv6 (RFC 768, RFC 8200 §8.1): named offsets, a read-only view
// over a checksum-verified datagram, and a builder that writes a whole
// IPv6 + UDP packet around a payload appended by the caller.
//
// Lifetime: UdpView stores only the span of the datagram it was parsed from;
// the packet bytes must outlive the view. Udp6Builder borrows its output
// buffer until finish() has returned.
#pragma once

#include <cstddef>
#include <cstdint>

#include "enftun/packet/packet_writer.hpp"
#include "enftun/proto/ipv6.hpp"
#include "enftun/proto/ipv6_addr.hpp"
#include "enftun/util/bytes.hpp"
#include "enftun/util/result.hpp"

namespace enftun::proto {

// RFC 768: source port, destination port, length, checksum; data follows.
inline constexpr std::size_t kUdpHeaderLen = 8;
inline constexpr std::size_t kUdpSrcPortOffset = 0;
inline constexpr std::size_t kUdpDstPortOffset = 2;
inline constexpr std::size_t kUdpLengthOffset = 4;
inline constexpr std::size_t kUdpChecksumOffset = 6;

class UdpView {
public:
    std::uint16_t src_port() const { return load_be16(dgram_, kUdpSrcPortOffset); }
    std::uint16_t dst_port() const { return load_be16(dgram_, kUdpDstPortOffset); }
    // Bytes after the 8-byte header.
    Bytes payload() const { return dgram_.subspan(kUdpHeaderLen); }

private:
    friend Result<UdpView> parse_udp(const Ipv6View& ip);
    explicit UdpView(Bytes dgram) : dgram_(dgram) {}

    Bytes dgram_;
};

// Parses the UDP datagram carried directly in `ip`'s payload (extension
// headers are not walked). Errors:
//   Unsupported - next header is not 17;
//   Truncated   - fewer than 8 bytes;
//   Malformed   - the length field is not the IPv6 payload length (RFC 768;
//                 a jumbogram's length 0 is not accepted either, RFC 2675
//                 §4), the checksum is 0 (RFC 8200 §8.1: IPv6 receivers
//                 discard such datagrams), or the checksum does not verify.
[[nodiscard]] Result<UdpView> parse_udp(const Ipv6View& ip);

struct UdpEndpoints {
    Ipv6Addr src;
    Ipv6Addr dst;
    std::uint16_t src_port = 0;
    std::uint16_t dst_port = 0;
};

// Writes an IPv6 + UDP packet in two steps: the constructor writes both
// headers with placeholder lengths and checksum, the caller appends the
// payload through writer(), and finish() patches the IPv6 payload length,
// the UDP length and the checksum in.
class Udp6Builder {
public:
    Udp6Builder(MutBytes out, const UdpEndpoints& ep, std::uint8_t hop_limit);

    packet::PacketWriter& writer() { return w_; }

    // The packet's length. A computed checksum of 0 is sent as 0xffff
    // (RFC 768, RFC 8200 §8.1). Errors: NoSpace if a put ran out of room or
    // the payload makes the datagram longer than 65535 bytes.
    [[nodiscard]] Result<std::size_t> finish();

private:
    packet::PacketWriter w_;
    UdpEndpoints ep_;
};

} // namespace enftun::proto
