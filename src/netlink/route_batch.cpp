#include "enftun/netlink/route_batch.hpp"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace enftun::netlink {

namespace {

// IPv4 routes travel as IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, RFC 4291
// section 2.5.5.2) with 96 added to their length (route_batch.hpp).
constexpr std::uint8_t kMappedBits = 96;
constexpr std::size_t kMappedPrefixBytes = 12;
constexpr std::size_t kIpv4Bytes = 4;

} // namespace

bool is_ipv4_route(const proto::Ipv6Addr& dst, std::uint8_t dst_len) {
    static constexpr std::uint8_t kMapped[kMappedPrefixBytes] = {0, 0, 0, 0, 0,    0,
                                                                 0, 0, 0, 0, 0xff, 0xff};
    return dst_len >= kMappedBits && std::memcmp(dst.bytes.data(), kMapped, sizeof kMapped) == 0;
}

proto::Ipv6Addr ipv4_route_dst(const proto::Ipv4Addr& addr) {
    proto::Ipv6Addr out{};
    out.bytes[10] = 0xff;
    out.bytes[11] = 0xff;
    std::memcpy(out.bytes.data() + kMappedPrefixBytes, addr.data(), kIpv4Bytes);
    return out;
}

RouteBatch::RouteBatch(std::size_t capacity) : buf_(std::max(capacity, kMaxMessage)) {}

bool RouteBatch::add_route(const RouteOwner& owner, const proto::Ipv6Addr& dst, std::uint32_t seq) {
    return put(owner, dst, 128, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, seq);
}

bool RouteBatch::delete_route(const RouteOwner& owner, const proto::Ipv6Addr& dst,
                              std::uint8_t dst_len, std::uint32_t seq) {
    return put(owner, dst, dst_len, RTM_DELROUTE, 0, seq);
}

bool RouteBatch::put(const RouteOwner& owner, const proto::Ipv6Addr& dst, std::uint8_t dst_len,
                     std::uint16_t type, std::uint16_t flags, std::uint32_t seq) {
    if (buf_.size() - used_ < kMaxMessage) {
        return false;
    }
    const bool v4 = is_ipv4_route(dst, dst_len);
    // used_ is a sum of NLMSG_ALIGNed lengths: the header stays aligned.
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf_.data() + used_);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
    nlh->nlmsg_seq = seq;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = v4 ? AF_INET : AF_INET6;
    rtm->rtm_dst_len = v4 ? static_cast<std::uint8_t>(dst_len - kMappedBits) : dst_len;
    // Tables above 255 exist only as RTA_TABLE; rtm_table then says so.
    rtm->rtm_table = owner.table < 256 ? static_cast<std::uint8_t>(owner.table)
                                       : static_cast<std::uint8_t>(RT_TABLE_UNSPEC);
    rtm->rtm_protocol = owner.protocol;
    rtm->rtm_scope = RT_SCOPE_UNIVERSE;
    rtm->rtm_type = RTN_UNICAST;
    if (v4) {
        mnl_attr_put(nlh, RTA_DST, kIpv4Bytes, dst.bytes.data() + kMappedPrefixBytes);
    } else {
        mnl_attr_put(nlh, RTA_DST, dst.bytes.size(), dst.bytes.data());
    }
    mnl_attr_put_u32(nlh, RTA_TABLE, owner.table);
    if (owner.ifindex != 0) {
        mnl_attr_put_u32(nlh, RTA_OIF, owner.ifindex);
    }
    used_ += NLMSG_ALIGN(nlh->nlmsg_len);
    ++count_;
    return true;
}

std::size_t build_route_dump(std::span<std::uint8_t> buf, std::uint32_t seq) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = RTM_GETROUTE;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = seq;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = AF_UNSPEC; // IPv6 and IPv4 (mapped) routes alike
    return nlh->nlmsg_len;
}

namespace {

struct RouteAttrs {
    const nlattr* dst = nullptr;
    std::optional<std::uint32_t> table;
    std::optional<std::uint32_t> oif;
};

int on_route_attr(const nlattr* attr, void* data) noexcept {
    auto* out = static_cast<RouteAttrs*>(data);
    switch (mnl_attr_get_type(attr)) {
    case RTA_DST:
        if (mnl_attr_get_payload_len(attr) == 16 || mnl_attr_get_payload_len(attr) == kIpv4Bytes) {
            out->dst = attr;
        }
        break;
    case RTA_TABLE:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0) {
            out->table = mnl_attr_get_u32(attr);
        }
        break;
    case RTA_OIF:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0) {
            out->oif = mnl_attr_get_u32(attr);
        }
        break;
    default:
        break;
    }
    return MNL_CB_OK;
}

} // namespace

std::optional<RouteInfo> parse_route(const nlmsghdr* nlh) {
    if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) {
        return std::nullopt;
    }
    rtmsg rtm;
    std::memcpy(&rtm, mnl_nlmsg_get_payload(nlh), sizeof rtm);
    const bool v4 = rtm.rtm_family == AF_INET;
    if ((!v4 && rtm.rtm_family != AF_INET6) || rtm.rtm_dst_len > (v4 ? 32 : 128)) {
        return std::nullopt;
    }
    RouteAttrs attrs;
    if (mnl_attr_parse(nlh, sizeof(rtmsg), on_route_attr, &attrs) != MNL_CB_OK) {
        return std::nullopt;
    }
    RouteInfo info;
    info.dst_len = v4 ? static_cast<std::uint8_t>(rtm.rtm_dst_len + kMappedBits) : rtm.rtm_dst_len;
    info.protocol = rtm.rtm_protocol;
    info.table = attrs.table.value_or(rtm.rtm_table);
    info.oif = attrs.oif.value_or(0);
    if (attrs.dst != nullptr) {
        if (mnl_attr_get_payload_len(attrs.dst) != (v4 ? kIpv4Bytes : 16)) {
            return std::nullopt;
        }
        if (v4) {
            proto::Ipv4Addr a{};
            std::memcpy(a.data(), mnl_attr_get_payload(attrs.dst), kIpv4Bytes);
            info.dst = ipv4_route_dst(a);
        } else {
            std::memcpy(info.dst.bytes.data(), mnl_attr_get_payload(attrs.dst), 16);
        }
    } else if (v4 ? rtm.rtm_dst_len != 0 : info.dst_len != 0) {
        return std::nullopt; // a prefix length without a prefix
    }
    return info;
}

} // namespace enftun::netlink
