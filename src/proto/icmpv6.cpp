#include "enftun/proto/icmpv6.hpp"

#include "enftun/packet/packet_writer.hpp"
#include "enftun/proto/checksum.hpp"

namespace enftun::proto {

namespace {

bool is_echo_type(std::uint8_t type) {
    return type == kIcmpv6EchoRequest || type == kIcmpv6EchoReply;
}

struct Echo {
    std::uint8_t type;
    std::uint16_t id;
    std::uint16_t seq;
    Bytes data;
};

// Writes IPv6 header + echo message, then patches the checksum in.
Result<std::size_t> build_echo(const Ipv6Addr& src, const Ipv6Addr& dst, const Echo& echo,
                               MutBytes out) {
    if (echo.data.size() > kIpv6MaxPayload - kIcmpv6EchoHeaderLen) {
        return make_error(Errc::NoSpace, "echo data too long for an IPv6 payload");
    }
    const auto plen = static_cast<std::uint16_t>(kIcmpv6EchoHeaderLen + echo.data.size());
    packet::PacketWriter w(out);
    build_ipv6_header(w, plen, kProtoIcmpv6, kDefaultHopLimit, src, dst);
    w.put_u8(echo.type);
    w.put_u8(0);   // code
    w.put_be16(0); // checksum, patched below
    w.put_be16(echo.id);
    w.put_be16(echo.seq);
    w.put_bytes(echo.data);
    auto len = w.finish();
    if (!len) {
        return len.error();
    }
    const MutBytes msg = w.written().subspan(kIpv6HeaderLen);
    store_be16(msg, kIcmpv6ChecksumOffset, ipv6_upper_checksum(src, dst, kProtoIcmpv6, msg));
    return len;
}

} // namespace

Result<Icmpv6View> parse_icmpv6(const Ipv6View& ip) {
    if (ip.next_header() != kProtoIcmpv6) {
        return make_error(Errc::Unsupported, "IPv6 next header is not ICMPv6");
    }
    const Bytes msg = ip.payload();
    if (msg.size() < kIcmpv6HeaderLen) {
        return make_error(Errc::Truncated, "ICMPv6 message shorter than its header");
    }
    if (is_echo_type(msg[kIcmpv6TypeOffset]) && msg.size() < kIcmpv6EchoHeaderLen) {
        return make_error(Errc::Truncated, "ICMPv6 echo shorter than its header");
    }
    // RFC 4443 §2.3: the checksum covers the pseudo-header and the message.
    if (ipv6_upper_checksum(ip.src(), ip.dst(), kProtoIcmpv6, msg) != 0) {
        return make_error(Errc::Malformed, "ICMPv6 checksum mismatch");
    }
    return Icmpv6View(msg);
}

Result<std::size_t> build_echo_request(const Ipv6Addr& src, const Ipv6Addr& dst, std::uint16_t id,
                                       std::uint16_t seq, Bytes data, MutBytes out) {
    return build_echo(src, dst, Echo{kIcmpv6EchoRequest, id, seq, data}, out);
}

Result<std::size_t> build_echo_reply(const Icmpv6View& request, const Ipv6View& request_ip,
                                     const Ipv6Addr& reply_src, MutBytes out) {
    if (request.type() != kIcmpv6EchoRequest) {
        return make_error(Errc::Unsupported, "not an ICMPv6 echo request");
    }
    // Copy every field out before writing: `out` may alias the request.
    // The data then lands on its own offset (48), which memmove allows.
    const Ipv6Addr dst = request_ip.src();
    const Echo echo{kIcmpv6EchoReply, request.echo_id(), request.echo_seq(), request.echo_data()};
    return build_echo(reply_src, dst, echo, out);
}

} // namespace enftun::proto
