// Fuzz target: parse_icmpv6 and the echo builders.
//
// Input: one flags byte, then an IPv6 packet. Random bytes almost never
// carry a valid length and checksum, so the flags can repair them first:
//   bit 0: set the IPv6 payload length to match the input;
//   bit 1: recompute the ICMPv6 checksum.
// An accepted echo request is answered into a separate buffer and in place;
// both replies must match and parse back with the request's fields.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "enftun/proto/checksum.hpp"
#include "enftun/proto/icmpv6.hpp"
#include "enftun/proto/ipv6.hpp"
#include "fuzz_check.hpp"

using namespace enftun;

namespace {

constexpr std::size_t kMaxPacket = proto::kIpv6HeaderLen + proto::kIpv6MaxPayload;
std::array<std::uint8_t, kMaxPacket> g_pkt;
std::array<std::uint8_t, kMaxPacket> g_out;
std::array<std::uint8_t, kMaxPacket> g_req;

void repair(std::uint8_t flags, MutBytes pkt) {
    if (pkt.size() < proto::kIpv6HeaderLen) {
        return;
    }
    const std::size_t plen = pkt.size() - proto::kIpv6HeaderLen;
    if ((flags & 1) != 0) {
        store_be16(pkt, proto::kIpv6PayloadLengthOffset, static_cast<std::uint16_t>(plen));
    }
    if ((flags & 2) != 0 && plen >= proto::kIcmpv6HeaderLen) {
        const MutBytes msg = pkt.subspan(proto::kIpv6HeaderLen);
        store_be16(msg, proto::kIcmpv6ChecksumOffset, 0);
        proto::Ipv6Addr src, dst;
        std::copy_n(pkt.begin() + proto::kIpv6SrcOffset, 16, src.bytes.begin());
        std::copy_n(pkt.begin() + proto::kIpv6DstOffset, 16, dst.bytes.begin());
        const std::uint8_t nh = pkt[proto::kIpv6NextHeaderOffset];
        store_be16(msg, proto::kIcmpv6ChecksumOffset,
                   proto::ipv6_upper_checksum(src, dst, nh, msg));
    }
}

// The reply in g_out[0..len) must be a valid echo reply to `req`.
void check_reply(const proto::Icmpv6View& req, const proto::Ipv6View& req_ip, std::size_t len) {
    auto ip = proto::parse_ipv6(Bytes(g_out).first(len));
    FUZZ_CHECK(ip.has_value());
    auto icmp = proto::parse_icmpv6(*ip);
    FUZZ_CHECK(icmp.has_value());
    FUZZ_CHECK(icmp->type() == proto::kIcmpv6EchoReply);
    FUZZ_CHECK(icmp->echo_id() == req.echo_id() && icmp->echo_seq() == req.echo_seq());
    FUZZ_CHECK(std::ranges::equal(icmp->echo_data(), req.echo_data()));
    FUZZ_CHECK(ip->dst() == req_ip.src() && ip->src() == req_ip.dst());
}

void answer(const proto::Icmpv6View& req, const proto::Ipv6View& ip) {
    auto len = proto::build_echo_reply(req, ip, ip.dst(), g_out);
    FUZZ_CHECK(len.has_value());
    check_reply(req, ip, *len);
    // In place over a copy of the request: the same bytes must come out.
    const Bytes pkt = ip.packet();
    std::copy(pkt.begin(), pkt.end(), g_req.begin());
    auto req_ip = proto::parse_ipv6(Bytes(g_req).first(pkt.size()));
    FUZZ_CHECK(req_ip.has_value());
    auto req_icmp = proto::parse_icmpv6(*req_ip);
    FUZZ_CHECK(req_icmp.has_value());
    auto len2 = proto::build_echo_reply(*req_icmp, *req_ip, ip.dst(), g_req);
    FUZZ_CHECK(len2.has_value() && *len2 == *len);
    FUZZ_CHECK(std::memcmp(g_req.data(), g_out.data(), *len) == 0);
}

void rebuild_request(const proto::Icmpv6View& icmp, const proto::Ipv6View& ip) {
    auto len = proto::build_echo_request(ip.src(), ip.dst(), icmp.echo_id(), icmp.echo_seq(),
                                         icmp.echo_data(), g_out);
    FUZZ_CHECK(len.has_value() && *len == ip.packet().size());
    auto again = proto::parse_ipv6(Bytes(g_out).first(*len));
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(proto::parse_icmpv6(*again).has_value());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0 || size - 1 > kMaxPacket) {
        return 0;
    }
    const std::uint8_t flags = data[0];
    const MutBytes pkt = MutBytes(g_pkt).first(size - 1);
    std::copy_n(data + 1, size - 1, pkt.begin());
    repair(flags, pkt);
    auto ip = proto::parse_ipv6(pkt);
    if (!ip) {
        return 0;
    }
    auto icmp = proto::parse_icmpv6(*ip);
    const bool fixed = (flags & 2) != 0 && ip->next_header() == proto::kProtoIcmpv6;
    if (!icmp) {
        // A repaired checksum can only fail on length.
        FUZZ_CHECK(!fixed || icmp.error().code == Errc::Truncated);
        return 0;
    }
    FUZZ_CHECK(icmp->message().size() == ip->payload().size());
    FUZZ_CHECK(icmp->body().size() + proto::kIcmpv6HeaderLen == icmp->message().size());
    if (icmp->type() == proto::kIcmpv6EchoRequest) {
        answer(*icmp, *ip);
    }
    if (icmp->is_echo()) {
        // The same fields rebuilt as a request must give a packet of the
        // same size that parses (flow label and type may differ).
        rebuild_request(*icmp, *ip);
    }
    return 0;
}
