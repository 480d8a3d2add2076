#include "enftun/proto/udp.hpp"

#include "enftun/proto/checksum.hpp"

namespace enftun::proto {

Result<UdpView> parse_udp(const Ipv6View& ip) {
    if (ip.next_header() != kProtoUdp) {
        return make_error(Errc::Unsupported, "IPv6 next header is not UDP");
    }
    const Bytes dgram = ip.payload();
    if (dgram.size() < kUdpHeaderLen) {
        return make_error(Errc::Truncated, "UDP datagram shorter than its header");
    }
    // parse_ipv6 has matched the IPv6 payload length to the packet size, so
    // the UDP length must equal both (RFC 768: it counts header and data).
    if (load_be16(dgram, kUdpLengthOffset) != dgram.size()) {
        return make_error(Errc::Malformed, "UDP length does not match the IPv6 payload");
    }
    if (load_be16(dgram, kUdpChecksumOffset) == 0) {
        return make_error(Errc::Malformed, "UDP checksum 0 is not allowed over IPv6");
    }
    if (ipv6_upper_checksum(ip.src(), ip.dst(), kProtoUdp, dgram) != 0) {
        return make_error(Errc::Malformed, "UDP checksum mismatch");
    }
    return UdpView(dgram);
}

Udp6Builder::Udp6Builder(MutBytes out, const UdpEndpoints& ep, std::uint8_t hop_limit)
    : w_(out), ep_(ep) {
    build_ipv6_header(w_, 0, kProtoUdp, hop_limit, ep.src, ep.dst);
    w_.put_be16(ep.src_port);
    w_.put_be16(ep.dst_port);
    w_.put_be16(0); // length, patched by finish()
    w_.put_be16(0); // checksum, patched by finish()
}

Result<std::size_t> Udp6Builder::finish() {
    auto len = w_.finish();
    if (!len) {
        return len.error();
    }
    const std::size_t udp_len = *len - kIpv6HeaderLen;
    if (udp_len > kIpv6MaxPayload) {
        return make_error(Errc::NoSpace, "UDP datagram too long for an IPv6 payload");
    }
    const MutBytes pkt = w_.written();
    store_be16(pkt, kIpv6PayloadLengthOffset, static_cast<std::uint16_t>(udp_len));
    const MutBytes dgram = pkt.subspan(kIpv6HeaderLen);
    store_be16(dgram, kUdpLengthOffset, static_cast<std::uint16_t>(udp_len));
    std::uint16_t sum = ipv6_upper_checksum(ep_.src, ep_.dst, kProtoUdp, dgram);
    store_be16(dgram, kUdpChecksumOffset, sum == 0 ? 0xffff : sum);
    return len;
}

} // namespace enftun::proto
