#include "enftun/framing/frame_v2.hpp"

#include "enftun/proto/ip.hpp"

#include <cassert>

namespace enftun::framing {

namespace {

// RFC 791 §3.1: IPv4 header.
constexpr std::size_t kIpv4MinHdr = 20;
constexpr std::size_t kIpv4TotalLenOff = 2;
constexpr std::size_t kIpv4FragOff = 6; // flags (3 bits) + fragment offset
constexpr std::uint16_t kIpv4MoreFragments = 0x2000;
constexpr std::uint16_t kIpv4FragOffsetMask = 0x1fff;
constexpr std::size_t kIpv4ProtoOff = 9;
// RFC 8200 §3: IPv6 header.
constexpr std::size_t kIpv6Hdr = 40;
constexpr std::size_t kIpv6PayloadLenOff = 4;
constexpr std::size_t kIpv6NextHdrOff = 6;
// RFC 9293 §3.1: TCP header.
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::size_t kTcpMinHdr = 20;
constexpr std::size_t kTcpDataOff = 12;
constexpr std::size_t kTcpCsumOff = 16;
// RFC 768: UDP header.
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::size_t kUdpHdr = 8;
constexpr std::size_t kUdpLenOff = 4;
constexpr std::size_t kUdpCsumOff = 6;

Error bad(const char* what) {
    return make_error(Errc::Malformed, what);
}

// The IP header length of a super-packet of this IP version, after
// checking the IP header. Errors: Malformed.
Result<std::size_t> check_ip_header(Bytes pkt, int version, std::uint8_t proto) {
    if (version == 4) {
        if (pkt.size() < kIpv4MinHdr || (pkt[0] >> 4) != 4) {
            return bad("GSO packet with bad IP header");
        }
        const std::size_t ihl = std::size_t{4} * (pkt[0] & 0x0fu);
        const std::uint16_t frag = load_be16(pkt, kIpv4FragOff);
        if (ihl < kIpv4MinHdr || ihl > pkt.size() ||
            load_be16(pkt, kIpv4TotalLenOff) != pkt.size() ||
            (frag & (kIpv4MoreFragments | kIpv4FragOffsetMask)) != 0 ||
            pkt[kIpv4ProtoOff] != proto) {
            return bad("GSO packet with bad IP header");
        }
        return ihl;
    }
    if (pkt.size() < kIpv6Hdr || (pkt[0] >> 4) != 6 ||
        load_be16(pkt, kIpv6PayloadLenOff) != pkt.size() - kIpv6Hdr ||
        pkt[kIpv6NextHdrOff] != proto) {
        return bad("GSO packet with bad IP header");
    }
    return kIpv6Hdr;
}

// check_udp_gso: a UDP super-packet (gso_type 5, either IP version; the IP
// header says which). Errors: Malformed.
Status check_udp_gso(Bytes pkt, const GsoMeta& meta, std::size_t max_payload) {
    if (meta.gso_type != kGsoTypeUdpL4) {
        return bad("unknown GSO type"); // ECN is TCP's
    }
    if (meta.csum != kCsumPartial) {
        return bad("bad checksum state");
    }
    if (pkt.empty() || pkt.size() > kMaxSuperPacket) {
        return bad("GSO packet with bad IP header");
    }
    const int version = pkt[0] >> 4;
    if (version != 4 && version != 6) {
        return bad("GSO type does not match the IP version");
    }
    auto ip_len = check_ip_header(pkt, version, kProtoUdp);
    if (!ip_len) {
        return ip_len.error();
    }
    if (meta.csum_start != *ip_len || meta.csum_offset != kUdpCsumOff) {
        return bad("GSO checksum offsets disagree with the headers");
    }
    if (pkt.size() < *ip_len + kUdpHdr ||
        load_be16(pkt, *ip_len + kUdpLenOff) != pkt.size() - *ip_len) {
        return bad("GSO packet with bad transport header");
    }
    if (meta.hdr_len != *ip_len + kUdpHdr) {
        return bad("GSO header length disagrees with the headers");
    }
    if (meta.gso_size == 0 || std::size_t{meta.hdr_len} + meta.gso_size > max_payload) {
        return bad("GSO segment size out of range");
    }
    if (pkt.size() <= meta.hdr_len) {
        return bad("GSO packet without payload");
    }
    if (gso_segments(pkt.size(), meta) > kMaxUdpSegments) {
        return bad("GSO segment size out of range");
    }
    return {};
}

} // namespace

Status check_gso_packet(Bytes pkt, const GsoMeta& meta, std::size_t max_payload) {
    if ((meta.gso_type & ~kGsoTypeEcn) == kGsoTypeUdpL4) {
        return check_udp_gso(pkt, meta, max_payload);
    }
    int version = 0;
    switch (meta.gso_type & ~kGsoTypeEcn) {
    case kGsoTypeTcpV4:
        version = 4;
        break;
    case kGsoTypeTcpV6:
        version = 6;
        break;
    default:
        return bad("unknown GSO type");
    }
    if (meta.csum != kCsumPartial) {
        return bad("bad checksum state");
    }
    if (pkt.empty() || pkt.size() > kMaxSuperPacket) {
        return bad("GSO packet with bad IP header");
    }
    if ((pkt[0] >> 4) != version) {
        return bad("GSO type does not match the IP version");
    }
    auto ip_len = check_ip_header(pkt, version, kProtoTcp);
    if (!ip_len) {
        return ip_len.error();
    }
    if (meta.csum_start != *ip_len || meta.csum_offset != kTcpCsumOff) {
        return bad("GSO checksum offsets disagree with the headers");
    }
    if (pkt.size() < *ip_len + kTcpMinHdr) {
        return bad("GSO packet with bad transport header");
    }
    const std::size_t tcp_len = std::size_t{4} * (pkt[*ip_len + kTcpDataOff] >> 4);
    if (tcp_len < kTcpMinHdr || *ip_len + tcp_len > pkt.size()) {
        return bad("GSO packet with bad transport header");
    }
    if (meta.hdr_len != *ip_len + tcp_len) {
        return bad("GSO header length disagrees with the headers");
    }
    if (meta.gso_size == 0 || std::size_t{meta.hdr_len} + meta.gso_size > max_payload) {
        return bad("GSO segment size out of range");
    }
    if (pkt.size() <= meta.hdr_len) {
        return bad("GSO packet without payload");
    }
    return {};
}

Result<GsoMeta> gso_meta_for(Bytes pkt, std::uint8_t gso_type, std::uint16_t gso_size,
                             std::size_t max_payload) {
    GsoMeta m;
    m.gso_type = gso_type;
    m.gso_size = gso_size;
    m.csum = kCsumPartial;
    if (gso_type == kGsoTypeUdpL4) {
        const int version = pkt.empty() ? 0 : pkt[0] >> 4;
        auto ip_len = check_ip_header(pkt, version == 4 ? 4 : 6, kProtoUdp);
        if (!ip_len) {
            return ip_len.error();
        }
        m.csum_start = static_cast<std::uint16_t>(*ip_len);
        m.csum_offset = kUdpCsumOff;
        m.hdr_len = static_cast<std::uint16_t>(*ip_len + kUdpHdr);
        if (auto st = check_gso_packet(pkt, m, max_payload); !st) {
            return st.error();
        }
        return m;
    }
    m.csum_offset = kTcpCsumOff;
    const int version = (gso_type & ~kGsoTypeEcn) == kGsoTypeTcpV4 ? 4 : 6;
    auto ip_len = check_ip_header(pkt, version, kProtoTcp);
    if (!ip_len) {
        return ip_len.error();
    }
    m.csum_start = static_cast<std::uint16_t>(*ip_len);
    if (pkt.size() >= *ip_len + kTcpMinHdr) {
        m.hdr_len = static_cast<std::uint16_t>(*ip_len +
                                               std::size_t{4} * (pkt[*ip_len + kTcpDataOff] >> 4));
    }
    if (auto st = check_gso_packet(pkt, m, max_payload); !st) {
        return st.error();
    }
    return m;
}

Result<std::optional<FrameV2>> parse_frame_v2(Bytes buf, std::size_t max_payload) {
    if (buf.size() < kV2HeaderLen) {
        return std::optional<FrameV2>{};
    }
    const std::uint8_t type = buf[0];
    const std::size_t len = std::size_t{buf[1]} << 16 | std::size_t{buf[2]} << 8 | buf[3];
    if (type != kFrameTypePacket && type != kFrameTypeGso) {
        return bad("unknown frame type");
    }
    if (len == 0) {
        return bad("zero-length frame");
    }
    if (len > (type == kFrameTypePacket ? max_payload : kMaxV2Body)) {
        return bad("frame longer than maximum");
    }
    if (type == kFrameTypeGso && len <= kGsoMetaLen) {
        return bad("GSO frame without a packet");
    }
    if (buf.size() - kV2HeaderLen < len) {
        return std::optional<FrameV2>{};
    }
    const Bytes body = buf.subspan(kV2HeaderLen, len);
    FrameV2 f;
    f.consumed = kV2HeaderLen + len;
    if (type == kFrameTypePacket) {
        if (!proto::check_ip_packet(body)) {
            return bad("frame is not an IP packet");
        }
        f.packet = body;
        return std::optional<FrameV2>{f};
    }
    const GsoMeta meta = read_gso_meta(body);
    f.packet = body.subspan(kGsoMetaLen);
    if (auto st = check_gso_packet(f.packet, meta, max_payload); !st) {
        return st.error();
    }
    f.gso = meta;
    return std::optional<FrameV2>{f};
}

void write_v2_header(MutBytes at, std::uint8_t type, std::size_t body_len) {
    assert(body_len >= 1 && body_len <= kMaxV2Body);
    at[0] = type;
    at[1] = static_cast<std::uint8_t>(body_len >> 16);
    at[2] = static_cast<std::uint8_t>(body_len >> 8);
    at[3] = static_cast<std::uint8_t>(body_len);
}

void write_gso_meta(MutBytes at, const GsoMeta& m) {
    at[0] = m.gso_type;
    at[1] = m.csum;
    store_be16(at, 2, m.hdr_len);
    store_be16(at, 4, m.gso_size);
    store_be16(at, 6, m.csum_start);
    store_be16(at, 8, m.csum_offset);
}

GsoMeta read_gso_meta(Bytes at) {
    return GsoMeta{at[0],           at[1], load_be16(at, 2), load_be16(at, 4), load_be16(at, 6),
                   load_be16(at, 8)};
}

} // namespace enftun::framing
