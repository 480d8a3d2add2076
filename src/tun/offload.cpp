#include "enftun/tun/offload.hpp"

#include "enftun/proto/checksum.hpp"
#include "enftun/proto/ipv6_addr.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace enftun::tun {

namespace {

// RFC 8200 §3: fixed IPv6 header.
constexpr std::size_t kIpv6HdrLen = 40;
constexpr std::size_t kIpv6PayloadLenOff = 4;
constexpr std::size_t kIpv6SrcOff = 8;
constexpr std::size_t kIpv6DstOff = 24;
// RFC 791 §3.1: IPv4 header.
constexpr std::size_t kIpv4MinHdrLen = 20;
constexpr std::size_t kIpv4TotalLenOff = 2;
constexpr std::size_t kIpv4IdOff = 4;
constexpr std::size_t kIpv4CsumOff = 10;
constexpr std::size_t kIpv4SrcOff = 12;
// RFC 9293 §3.1: TCP header.
constexpr std::size_t kTcpMinHdrLen = 20;
constexpr std::size_t kTcpSeqOff = 4;
constexpr std::size_t kTcpDataOff = 12;
constexpr std::size_t kTcpFlagsOff = 13;
constexpr std::size_t kTcpCsumOff = 16;
constexpr std::uint8_t kTcpFin = 0x01;
constexpr std::uint8_t kTcpPsh = 0x08;
constexpr std::uint8_t kTcpCwr = 0x80;
constexpr std::uint8_t kProtoTcp = 6;
// RFC 768: UDP header.
constexpr std::size_t kUdpHdrLen = 8;
constexpr std::size_t kUdpLenOff = 4;
constexpr std::size_t kUdpCsumOff = 6;
constexpr std::uint8_t kProtoUdp = 17;

std::uint16_t load_le16(Bytes b, std::size_t off) {
    return static_cast<std::uint16_t>(b[off] | (b[off + 1] << 8));
}

proto::Ipv6Addr load_addr(Bytes b, std::size_t off) {
    proto::Ipv6Addr a;
    std::memcpy(a.bytes.data(), b.data() + off, a.bytes.size());
    return a;
}

} // namespace

bool TunOffloads::takes_gso(std::uint8_t gso_type) const {
    switch (gso_type & ~kGsoEcn) {
    case kGsoTcpV4:
    case kGsoTcpV6:
        return tso();
    case kGsoUdpL4:
        return tso() && uso();
    default:
        return false;
    }
}

bool gso_write_wants_split(int err, const VnetHdr& hdr, std::size_t packet_len) {
    if (err != EINVAL || (hdr.gso_type & ~kGsoEcn) != kGsoUdpL4 || hdr.gso_size == 0 ||
        packet_len <= hdr.hdr_len) {
        return false;
    }
    const std::size_t payload = packet_len - hdr.hdr_len;
    return (payload + hdr.gso_size - 1) / hdr.gso_size > kOldKernelUsoMaxSegments;
}

TunOffloads probe_offloads(unsigned long wanted, const std::function<bool(unsigned long)>& set) {
    for (unsigned long flags : {wanted | kTunFUso4 | kTunFUso6, wanted}) {
        if (set(flags)) {
            return TunOffloads{flags};
        }
    }
    (void)set(0);
    return TunOffloads{};
}

Result<VnetHdr> parse_vnet_hdr(Bytes b) {
    if (b.size() < kVnetHdrLen) {
        return make_error(Errc::Truncated, "shorter than a virtio-net header");
    }
    return VnetHdr{b[0], b[1], load_le16(b, 2), load_le16(b, 4), load_le16(b, 6), load_le16(b, 8)};
}

Status complete_checksum(MutBytes pkt, std::size_t csum_start, std::size_t csum_offset) {
    if (csum_start > pkt.size() || csum_offset + 2 > pkt.size() - csum_start) {
        return make_error(Errc::Malformed, "checksum offsets outside the packet");
    }
    std::uint16_t sum =
        proto::checksum_fold(proto::checksum_add(0, Bytes(pkt).subspan(csum_start)));
    store_be16(pkt, csum_start + csum_offset, sum == 0 ? 0xffff : sum);
    return {};
}

Status GsoSplitter::reset(const VnetHdr& hdr, MutBytes packet) {
    pkt_ = packet;
    done_ = true;
    gso_ = false;
    if ((hdr.gso_type & ~kGsoEcn) == kGsoNone) {
        if ((hdr.flags & kVnetFlagNeedsCsum) != 0) {
            if (auto st = complete_checksum(packet, hdr.csum_start, hdr.csum_offset); !st) {
                return st;
            }
        }
        done_ = packet.empty();
        return {};
    }
    return reset_gso(hdr, packet);
}

Status GsoSplitter::reset_gso(const VnetHdr& hdr, Bytes packet) {
    pkt_ = packet;
    done_ = true;
    gso_ = false;
    const std::uint8_t type = hdr.gso_type & ~kGsoEcn;
    if (type == kGsoUdpL4) {
        return reset_udp(hdr, packet);
    }
    if (type != kGsoTcpV6 && type != kGsoTcpV4) {
        return make_error(Errc::Unsupported, "GSO type not enabled");
    }
    udp_ = false;
    ipv4_ = type == kGsoTcpV4;
    const std::size_t ip_min = ipv4_ ? kIpv4MinHdrLen : kIpv6HdrLen;
    // The kernel always asks for the checksum with GSO; csum_start is the
    // TCP header, after any IPv6 extension headers or IPv4 options.
    const std::size_t tcp_off = hdr.csum_start;
    if (packet.size() < ip_min || (packet[0] >> 4) != (ipv4_ ? 4 : 6) || tcp_off < ip_min ||
        (ipv4_ && tcp_off != std::size_t{4} * (packet[0] & 0x0fu)) ||
        tcp_off + kTcpMinHdrLen > packet.size() || hdr.gso_size == 0) {
        return make_error(Errc::Malformed, "GSO TCP packet with bad headers");
    }
    const std::size_t tcp_len = static_cast<std::size_t>(packet[tcp_off + kTcpDataOff] >> 4) * 4;
    if (tcp_len < kTcpMinHdrLen || tcp_off + tcp_len > packet.size()) {
        return make_error(Errc::Malformed, "GSO TCP packet with a bad TCP header length");
    }
    tcp_off_ = tcp_off;
    hdr_end_ = tcp_off + tcp_len;
    mss_ = hdr.gso_size;
    next_off_ = hdr_end_;
    seq0_ = load_be32(packet, tcp_off + kTcpSeqOff);
    id0_ = ipv4_ ? load_be16(packet, kIpv4IdOff) : 0;
    gso_ = true;
    done_ = next_off_ >= packet.size();
    return {};
}

// reset_udp: one type for both IP versions (the IP header tells which);
// csum_start is the UDP header, after any IPv6 extension headers or IPv4
// options.
Status GsoSplitter::reset_udp(const VnetHdr& hdr, Bytes packet) {
    const std::size_t l4 = hdr.csum_start;
    if (packet.empty() || hdr.gso_size == 0 || (hdr.gso_type & kGsoEcn) != 0) {
        return make_error(Errc::Malformed, "GSO UDP packet with bad headers");
    }
    ipv4_ = (packet[0] >> 4) == 4;
    const std::size_t ip_min = ipv4_ ? kIpv4MinHdrLen : kIpv6HdrLen;
    if ((!ipv4_ && (packet[0] >> 4) != 6) || packet.size() < ip_min || l4 < ip_min ||
        (ipv4_ && l4 != std::size_t{4} * (packet[0] & 0x0fu)) || l4 + kUdpHdrLen > packet.size()) {
        return make_error(Errc::Malformed, "GSO UDP packet with bad headers");
    }
    udp_ = true;
    tcp_off_ = l4;
    hdr_end_ = l4 + kUdpHdrLen;
    mss_ = hdr.gso_size;
    next_off_ = hdr_end_;
    id0_ = ipv4_ ? load_be16(packet, kIpv4IdOff) : 0;
    gso_ = true;
    done_ = next_off_ >= packet.size();
    return {};
}

Result<std::size_t> GsoSplitter::next(MutBytes out) {
    if (done_) {
        return make_error(Errc::NoSpace, "no packet left");
    }
    if (gso_) {
        return next_segment(out);
    }
    done_ = true;
    if (out.size() < pkt_.size()) {
        return make_error(Errc::NoSpace, "packet larger than the buffer");
    }
    std::memcpy(out.data(), pkt_.data(), pkt_.size());
    return pkt_.size();
}

// next_segment: headers of the super-packet, then the next mss_ bytes of its
// payload, with the fields that differ per segment rewritten.
Result<std::size_t> GsoSplitter::next_segment(MutBytes out) {
    const std::size_t off = next_off_;
    const std::size_t chunk = std::min(mss_, pkt_.size() - off);
    const std::size_t len = hdr_end_ + chunk;
    const bool first = off == hdr_end_;
    next_off_ += chunk;
    done_ = next_off_ >= pkt_.size();
    if (out.size() < len) {
        return make_error(Errc::NoSpace, "segment larger than the buffer");
    }
    std::memcpy(out.data(), pkt_.data(), hdr_end_);
    std::memcpy(out.data() + hdr_end_, pkt_.data() + off, chunk);
    if (ipv4_) {
        store_be16(out, kIpv4TotalLenOff, static_cast<std::uint16_t>(len));
        // One ID per segment, as a NIC's TSO does (the kernel's own GSO too).
        store_be16(out, kIpv4IdOff,
                   static_cast<std::uint16_t>(id0_ + (off - hdr_end_) / mss_)); // mod 2^16
        store_be16(out, kIpv4CsumOff, 0);
        store_be16(out, kIpv4CsumOff,
                   proto::checksum_fold(proto::checksum_add(0, Bytes(out.data(), tcp_off_))));
    } else {
        store_be16(out, kIpv6PayloadLenOff, static_cast<std::uint16_t>(len - kIpv6HdrLen));
    }
    if (udp_) {
        return finish_udp(out, len);
    }
    store_be32(out, tcp_off_ + kTcpSeqOff,
               seq0_ + static_cast<std::uint32_t>(off - hdr_end_)); // mod 2^32
    std::uint8_t flags = out[tcp_off_ + kTcpFlagsOff];
    if (!done_) {
        flags &= static_cast<std::uint8_t>(~(kTcpFin | kTcpPsh)); // last segment only
    }
    if (!first) {
        flags &= static_cast<std::uint8_t>(~kTcpCwr); // first segment only (RFC 3168 §6.1.2)
    }
    out[tcp_off_ + kTcpFlagsOff] = flags;
    store_be16(out, tcp_off_ + kTcpCsumOff, 0);
    const Bytes seg(out.data(), len);
    if (ipv4_) {
        // RFC 9293 §3.1 pseudo-header: source, destination, zero, protocol, TCP length.
        std::uint32_t sum = proto::checksum_add(0, seg.subspan(kIpv4SrcOff, 8));
        sum += kProtoTcp + static_cast<std::uint32_t>(len - tcp_off_);
        store_be16(out, tcp_off_ + kTcpCsumOff,
                   proto::checksum_fold(proto::checksum_add(sum, seg.subspan(tcp_off_))));
        return len;
    }
    store_be16(out, tcp_off_ + kTcpCsumOff,
               proto::ipv6_upper_checksum(load_addr(seg, kIpv6SrcOff), load_addr(seg, kIpv6DstOff),
                                          kProtoTcp, seg.subspan(tcp_off_)));
    return len;
}

// finish_udp: the UDP length and a complete checksum (RFC 768: a computed
// 0 is sent as 0xffff, 0 meaning "no checksum" in IPv4 and illegal in IPv6).
Result<std::size_t> GsoSplitter::finish_udp(MutBytes out, std::size_t len) {
    const std::size_t udp_len = len - tcp_off_;
    store_be16(out, tcp_off_ + kUdpLenOff, static_cast<std::uint16_t>(udp_len));
    store_be16(out, tcp_off_ + kUdpCsumOff, 0);
    const Bytes seg(out.data(), len);
    std::uint16_t sum = 0;
    if (ipv4_) {
        std::uint32_t acc = proto::checksum_add(0, seg.subspan(kIpv4SrcOff, 8));
        acc += kProtoUdp + static_cast<std::uint32_t>(udp_len);
        sum = proto::checksum_fold(proto::checksum_add(acc, seg.subspan(tcp_off_)));
    } else {
        sum = proto::ipv6_upper_checksum(load_addr(seg, kIpv6SrcOff), load_addr(seg, kIpv6DstOff),
                                         kProtoUdp, seg.subspan(tcp_off_));
    }
    store_be16(out, tcp_off_ + kUdpCsumOff, sum == 0 ? 0xffff : sum);
    return len;
}

} // namespace enftun::tun
