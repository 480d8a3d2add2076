#include "enftun/proto/ip.hpp"

#include "enftun/proto/ipv4.hpp"
#include "enftun/proto/ipv6.hpp"

namespace enftun::proto {

Status check_ip_packet(Bytes pkt) {
    switch (ip_version(pkt)) {
    case kIpv6Version:
        if (auto ip = parse_ipv6(pkt); !ip) {
            return ip.error();
        }
        return {};
    case kIpv4Version:
        if (auto ip = parse_ipv4(pkt); !ip) {
            return ip.error();
        }
        return {};
    default:
        if (pkt.empty()) {
            return make_error(Errc::Truncated, "empty IP packet");
        }
        return make_error(Errc::Malformed, "IP version is neither 4 nor 6");
    }
}

} // namespace enftun::proto
