// Fuzz target: IP header parsers (parse_ipv6, parse_ipv4, check_ip_packet),
// and on what parse_ipv6 accepts the extension-header walk
// (find_upper_layer) and parse_udp (dhcpv6_fuzz gives it only datagrams it
// built). Checks that every accepted view's accessors stay
// inside the input and agree with the header, and that check_ip_packet
// agrees with the parsers.
#include <cstddef>
#include <cstdint>

#include "enftun/proto/ip.hpp"
#include "enftun/proto/ipv4.hpp"
#include "enftun/proto/ipv6.hpp"
#include "enftun/proto/ipv6_ext.hpp"
#include "enftun/proto/udp.hpp"
#include "fuzz_check.hpp"

using namespace enftun;

namespace {

// A UDP view is the IPv6 payload, its length field the payload's length.
void check_udp(const proto::Ipv6View& ip) {
    auto udp = proto::parse_udp(ip);
    if (!udp) {
        return;
    }
    const Bytes dgram = ip.payload();
    FUZZ_CHECK(ip.next_header() == proto::kProtoUdp);
    FUZZ_CHECK(load_be16(dgram, proto::kUdpLengthOffset) == dgram.size());
    FUZZ_CHECK(udp->payload().data() == dgram.data() + proto::kUdpHeaderLen);
    FUZZ_CHECK(udp->payload().size() + proto::kUdpHeaderLen == dgram.size());
    FUZZ_CHECK(udp->src_port() == load_be16(dgram, proto::kUdpSrcPortOffset) &&
               udp->dst_port() == load_be16(dgram, proto::kUdpDstPortOffset));
}

// The upper layer starts inside the packet, past at least the IPv6 header;
// with no extension header it is the header's own next header.
void check_upper_layer(const proto::Ipv6View& ip) {
    const auto u = proto::find_upper_layer(ip);
    if (!u) {
        FUZZ_CHECK(ip.next_header() != proto::kProtoIcmpv6 && ip.next_header() != proto::kProtoUdp);
        return;
    }
    FUZZ_CHECK(u->offset >= proto::kIpv6HeaderLen && u->offset <= ip.packet().size());
    FUZZ_CHECK(u->extension_headers == (u->offset > proto::kIpv6HeaderLen));
    if (!u->extension_headers) {
        FUZZ_CHECK(u->protocol == ip.next_header());
    }
    FUZZ_CHECK(u->first_fragment || u->fragment);
}

bool check_v6(Bytes in) {
    auto ip = proto::parse_ipv6(in);
    if (!ip) {
        return false;
    }
    check_upper_layer(*ip);
    check_udp(*ip);
    FUZZ_CHECK(ip->packet().size() == in.size());
    FUZZ_CHECK(ip->payload().size() == ip->payload_length());
    FUZZ_CHECK(ip->payload().size() + proto::kIpv6HeaderLen == in.size());
    volatile std::uint8_t sink = ip->next_header() ^ ip->hop_limit();
    sink = sink ^ ip->src().bytes[15] ^ ip->dst().bytes[0];
    (void)sink;
    return true;
}

bool check_v4(Bytes in) {
    auto ip = proto::parse_ipv4(in);
    if (!ip) {
        return false;
    }
    FUZZ_CHECK(ip->total_length() == in.size());
    FUZZ_CHECK(ip->header_length() >= proto::kIpv4MinHeaderLen);
    FUZZ_CHECK(ip->header_length() <= ip->total_length());
    volatile std::uint8_t sink = ip->protocol() ^ ip->src()[0] ^ ip->dst()[3];
    (void)sink;
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const Bytes in(data, size);
    const bool v6 = check_v6(in);
    const bool v4 = check_v4(in);
    FUZZ_CHECK(!(v6 && v4)); // the version nibble picks one
    const int version = proto::ip_version(in);
    const bool want = (version == 6 && v6) || (version == 4 && v4);
    FUZZ_CHECK(static_cast<bool>(proto::check_ip_packet(in)) == want);
    return 0;
}
