#include "enftun/filter/filter.hpp"

#include <arpa/inet.h>

#include <optional>

#include "enftun/log/log.hpp"
#include "enftun/proto/ip.hpp"
#include "enftun/proto/ipv4.hpp"
#include "enftun/proto/ipv6.hpp"
#include "enftun/proto/ipv6_ext.hpp"

namespace enftun::filter {

namespace {

using AddrText = char[INET6_ADDRSTRLEN];

// Parses the packet far enough for either direction's policy. Returns the
// IPv6 view to check addresses on; nullopt with `reason` None for an IPv4
// packet that may pass (its view in v4 when self4 is set, for the address
// check), or nullopt with the drop reason.
std::optional<proto::Ipv6View> classify(Bytes pkt, bool allow_ipv4, DropReason& reason,
                                        std::optional<proto::Ipv4View>& v4) {
    reason = DropReason::None;
    v4.reset();
    if (proto::ip_version(pkt) == proto::kIpv6Version) {
        auto ip = proto::parse_ipv6(pkt);
        if (!ip) {
            reason = DropReason::Malformed;
            return std::nullopt;
        }
        return *ip;
    }
    // IPv4 must parse even when allowed, so a bad header never reaches the
    // TUN or the peer; a parse failure outranks "not allowed".
    auto ip4 = proto::parse_ipv4(pkt);
    if (!ip4) {
        reason = DropReason::Malformed;
    } else if (!allow_ipv4) {
        reason = DropReason::Ipv4NotAllowed;
    } else {
        v4 = *ip4;
    }
    return std::nullopt;
}

// Address text for a drop line, from the raw header (which may be
// malformed); "?" when the header is too short to hold the address.
const char* addr_text(Bytes pkt, bool want_src, AddrText& out) {
    const int version = proto::ip_version(pkt);
    const char* text = nullptr;
    if (version == proto::kIpv6Version && pkt.size() >= proto::kIpv6HeaderLen) {
        const std::size_t off = want_src ? proto::kIpv6SrcOffset : proto::kIpv6DstOffset;
        text = inet_ntop(AF_INET6, pkt.data() + off, out, sizeof out);
    } else if (version == proto::kIpv4Version && pkt.size() >= proto::kIpv4MinHeaderLen) {
        const std::size_t off = want_src ? proto::kIpv4SrcOffset : proto::kIpv4DstOffset;
        text = inet_ntop(AF_INET, pkt.data() + off, out, sizeof out);
    }
    return text != nullptr ? text : "?";
}

const char* self_text(const proto::Ipv6Addr& self, AddrText& out) {
    const char* text = inet_ntop(AF_INET6, self.bytes.data(), out, sizeof out);
    return text != nullptr ? text : "?";
}

void count_drop(FilterStats& stats, DropReason& last, DropReason reason) {
    ++stats.dropped[static_cast<std::size_t>(reason)];
    last = reason;
}

Verdict count_accept(FilterStats& stats, DropReason& last) {
    ++stats.accepted;
    last = DropReason::None;
    return Verdict::Accept;
}

} // namespace

const char* to_string(DropReason reason) {
    switch (reason) {
    case DropReason::None:
        return "none";
    case DropReason::Malformed:
        return "malformed";
    case DropReason::Ipv4NotAllowed:
        return "IPv4 not allowed";
    case DropReason::WrongSource:
        return "wrong source";
    case DropReason::WrongDestination:
        return "wrong destination";
    case DropReason::NeighborDiscovery:
        return "neighbor discovery";
    case DropReason::Count_:
        break;
    }
    return "?";
}

EgressFilter::EgressFilter(proto::Ipv6Addr self, bool allow_ipv4,
                           std::optional<proto::Ipv4Addr> self4)
    : self_(self), self4_(self4), allow_ipv4_(allow_ipv4) {}

Verdict EgressFilter::check(Bytes pkt) {
    DropReason reason = DropReason::None;
    std::optional<proto::Ipv4View> v4;
    const auto ip = classify(pkt, allow_ipv4_, reason, v4);
    if (reason != DropReason::None) {
        return drop(reason, pkt);
    }
    // PROTOCOL.md: the router drops a client packet not sourced from the
    // client's address; dropping it here too stops leaks early.
    if ((ip && ip->src() != self_) || (v4 && self4_ && v4->src() != *self4_)) {
        return drop(DropReason::WrongSource, pkt);
    }
    if (ip && proto::nd_type(*ip)) {
        return drop(DropReason::NeighborDiscovery, pkt);
    }
    return count_accept(stats_, last_reason_);
}

Verdict EgressFilter::drop(DropReason reason, Bytes pkt) {
    count_drop(stats_, last_reason_, reason);
    AddrText src, dst, self;
    ENFTUN_LOG_RATELIMITED(log::Level::Debug,
                           "egress: dropped %zu-byte packet (%s): %s -> %s, self %s", pkt.size(),
                           to_string(reason), addr_text(pkt, true, src), addr_text(pkt, false, dst),
                           self_text(self_, self));
    return Verdict::Drop;
}

IngressFilter::IngressFilter(proto::Ipv6Addr self, bool allow_ipv4,
                             std::optional<proto::Ipv4Addr> self4)
    : self_(self), self4_(self4), allow_ipv4_(allow_ipv4) {}

Verdict IngressFilter::check(Bytes pkt) {
    DropReason reason = DropReason::None;
    std::optional<proto::Ipv4View> v4;
    const auto ip = classify(pkt, allow_ipv4_, reason, v4);
    if (reason != DropReason::None) {
        return drop(reason, pkt);
    }
    if ((ip && ip->dst() != self_) || (v4 && self4_ && v4->dst() != *self4_)) {
        return drop(DropReason::WrongDestination, pkt);
    }
    if (ip && proto::nd_type(*ip)) {
        return drop(DropReason::NeighborDiscovery, pkt);
    }
    return count_accept(stats_, last_reason_);
}

Verdict IngressFilter::drop(DropReason reason, Bytes pkt) {
    count_drop(stats_, last_reason_, reason);
    AddrText src, dst, self;
    ENFTUN_LOG_RATELIMITED(log::Level::Debug,
                           "ingress: dropped %zu-byte packet (%s): %s -> %s, self %s", pkt.size(),
                           to_string(reason), addr_text(pkt, true, src), addr_text(pkt, false, dst),
                           self_text(self_, self));
    return Verdict::Drop;
}

} // namespace enftun::filter
