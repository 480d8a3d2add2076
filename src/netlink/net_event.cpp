#include "enftun/netlink/net_event.hpp"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace enftun::netlink {

namespace {

// Copies a fixed-size kernel struct out of the bytes at off (bounds checked
// by the caller): no cast, no alignment assumption.
template <typename T>
T copy_out(Bytes s, std::size_t off) {
    T v{};
    std::memcpy(&v, s.data() + off, sizeof v);
    return v;
}

constexpr std::size_t align4(std::size_t n) {
    return (n + 3) & ~std::size_t{3}; // NLMSG_ALIGN and RTA_ALIGN are both 4
}

std::uint32_t load_host32(Bytes s, std::size_t off) {
    return copy_out<std::uint32_t>(s, off);
}

// Walks the rtattrs after the fixed header and calls fn(type, payload) for
// each. Errors: Malformed (an attribute length below its header or past the
// end of the message).
template <typename Fn>
Status for_each_attr(Bytes msg, std::size_t off, Fn fn) {
    while (off + sizeof(rtattr) <= msg.size()) {
        auto rta = copy_out<rtattr>(msg, off);
        if (rta.rta_len < sizeof(rtattr) || rta.rta_len > msg.size() - off) {
            return make_error(Errc::Malformed, "rtnetlink attribute length out of bounds");
        }
        Bytes payload = msg.subspan(off + sizeof(rtattr), rta.rta_len - sizeof(rtattr));
        fn(static_cast<std::uint16_t>(rta.rta_type & NLA_TYPE_MASK), payload);
        off += align4(rta.rta_len);
    }
    return {};
}

// Copies an address attribute (4 or 16 bytes) into ev; others are ignored.
void take_addr(NetEvent& ev, Bytes p) {
    if (p.size() == 4 || p.size() == 16) {
        std::copy(p.begin(), p.end(), ev.addr.begin());
        ev.addr_len = static_cast<std::uint8_t>(p.size());
    }
}

Result<NetEvent> parse_link(Bytes msg) {
    constexpr std::size_t kOff = NLMSG_HDRLEN;
    if (msg.size() < kOff + sizeof(ifinfomsg)) {
        return make_error(Errc::Truncated, "link message shorter than ifinfomsg");
    }
    auto ifi = copy_out<ifinfomsg>(msg, kOff);
    NetEvent ev;
    ev.kind = NetEventKind::Link;
    ev.family = ifi.ifi_family;
    ev.ifindex = static_cast<std::uint32_t>(ifi.ifi_index);
    ev.link_flags = ifi.ifi_flags;
    ev.link_change = ifi.ifi_change;
    auto st =
        for_each_attr(msg, kOff + align4(sizeof(ifinfomsg)), [&](std::uint16_t type, Bytes p) {
            if (type == IFLA_WIRELESS) {
                ev.wireless = true;
            } else if (type == IFLA_IFNAME) {
                // Not trusted to be terminated: copy at most 15 bytes, stop at NUL.
                std::size_t n = std::min(p.size(), ev.ifname.size() - 1);
                auto end = std::find(p.begin(), p.begin() + static_cast<std::ptrdiff_t>(n), 0);
                std::copy(p.begin(), end, ev.ifname.begin());
            }
        });
    if (!st) {
        return st.error();
    }
    return ev;
}

Result<NetEvent> parse_addr(Bytes msg) {
    constexpr std::size_t kOff = NLMSG_HDRLEN;
    if (msg.size() < kOff + sizeof(ifaddrmsg)) {
        return make_error(Errc::Truncated, "address message shorter than ifaddrmsg");
    }
    auto ifa = copy_out<ifaddrmsg>(msg, kOff);
    NetEvent ev;
    ev.kind = NetEventKind::Address;
    ev.family = ifa.ifa_family;
    ev.ifindex = ifa.ifa_index;
    ev.prefix_len = ifa.ifa_prefixlen;
    bool have_local = false;
    auto st =
        for_each_attr(msg, kOff + align4(sizeof(ifaddrmsg)), [&](std::uint16_t type, Bytes p) {
            // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's
            // on a point-to-point link (and the same as IFA_LOCAL otherwise).
            if (type == IFA_LOCAL) {
                take_addr(ev, p);
                have_local = true;
            } else if (type == IFA_ADDRESS && !have_local) {
                take_addr(ev, p);
            }
        });
    if (!st) {
        return st.error();
    }
    return ev;
}

Result<NetEvent> parse_route(Bytes msg) {
    constexpr std::size_t kOff = NLMSG_HDRLEN;
    if (msg.size() < kOff + sizeof(rtmsg)) {
        return make_error(Errc::Truncated, "route message shorter than rtmsg");
    }
    auto rtm = copy_out<rtmsg>(msg, kOff);
    NetEvent ev;
    ev.kind = NetEventKind::Route;
    ev.family = rtm.rtm_family;
    ev.prefix_len = rtm.rtm_dst_len;
    ev.table = rtm.rtm_table;
    auto st = for_each_attr(msg, kOff + align4(sizeof(rtmsg)), [&](std::uint16_t type, Bytes p) {
        if (type == RTA_DST) {
            take_addr(ev, p);
            return;
        }
        if (p.size() < 4) {
            return; // the other attributes we read are u32s; ignore a short one
        }
        if (type == RTA_OIF) {
            ev.ifindex = load_host32(p, 0);
        } else if (type == RTA_TABLE) {
            ev.table = load_host32(p, 0); // tables above 255 only appear here
        } else if (type == RTA_PRIORITY) {
            ev.priority = load_host32(p, 0);
        }
    });
    if (!st) {
        return st.error();
    }
    return ev;
}

} // namespace

Result<NetEvent> parse_net_event(Bytes msg) {
    if (msg.size() < NLMSG_HDRLEN) {
        return make_error(Errc::Truncated, "shorter than a netlink header");
    }
    auto nlh = copy_out<nlmsghdr>(msg, 0);
    if (nlh.nlmsg_len < NLMSG_HDRLEN || nlh.nlmsg_len > msg.size()) {
        return make_error(Errc::Malformed, "netlink length disagrees with the message");
    }
    msg = msg.first(nlh.nlmsg_len);
    Result<NetEvent> ev = make_error(Errc::Unsupported, "not a link, address or route event");
    switch (nlh.nlmsg_type) {
    case RTM_NEWLINK:
    case RTM_DELLINK:
        ev = parse_link(msg);
        break;
    case RTM_NEWADDR:
    case RTM_DELADDR:
        ev = parse_addr(msg);
        break;
    case RTM_NEWROUTE:
    case RTM_DELROUTE:
        ev = parse_route(msg);
        break;
    default:
        return ev;
    }
    if (ev) {
        ev->removed = nlh.nlmsg_type == RTM_DELLINK || nlh.nlmsg_type == RTM_DELADDR ||
                      nlh.nlmsg_type == RTM_DELROUTE;
    }
    return ev;
}

Status for_each_netlink_message(Bytes datagram, const std::function<void(Bytes msg)>& fn) {
    std::size_t off = 0;
    while (off < datagram.size()) {
        if (datagram.size() - off < NLMSG_HDRLEN) {
            return make_error(Errc::Truncated, "netlink datagram ends inside a header");
        }
        auto len = load_host32(datagram, off);
        if (len < NLMSG_HDRLEN || len > datagram.size() - off) {
            return make_error(Errc::Malformed, "netlink message length out of bounds");
        }
        fn(datagram.subspan(off, len));
        off += align4(len);
    }
    return {};
}

std::string describe(const NetEvent& ev) {
    std::string out = to_string(ev.kind);
    out += ev.removed ? "- " : "+ ";
    if (ev.kind == NetEventKind::Link) {
        out += ev.ifname[0] != '\0' ? ev.ifname.data() : "?";
        out += " dev " + std::to_string(ev.ifindex);
        out += (ev.link_flags & IFF_UP) != 0 ? " up" : " down";
        out += (ev.link_flags & IFF_LOWER_UP) != 0 ? " carrier" : " no-carrier";
        return out;
    }
    char text[INET6_ADDRSTRLEN] = "";
    if (ev.addr_len == 16) {
        inet_ntop(AF_INET6, ev.addr.data(), text, sizeof text);
    } else if (ev.addr_len == 4) {
        inet_ntop(AF_INET, ev.addr.data(), text, sizeof text);
    } else {
        std::strcpy(text, ev.family == AF_INET ? "0.0.0.0" : "::");
    }
    out += std::string(text) + "/" + std::to_string(ev.prefix_len);
    out += " dev " + std::to_string(ev.ifindex);
    if (ev.kind == NetEventKind::Route) {
        out += " metric " + std::to_string(ev.priority) + " table " + std::to_string(ev.table);
    }
    return out;
}

const char* to_string(NetEventKind kind) {
    switch (kind) {
    case NetEventKind::Link:
        return "link";
    case NetEventKind::Address:
        return "address";
    case NetEventKind::Route:
        return "route";
    }
    return "?";
}

} // namespace enftun::netlink
