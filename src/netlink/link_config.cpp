#include "enftun/netlink/link_config.hpp"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace enftun::netlink {

namespace {
// MNL_SOCKET_BUFFER_SIZE is a sysconf() call (a VLA); 8 KiB fits every reply
// to our small requests, as the libmnl examples assume.
constexpr std::size_t kNetlinkBufferSize = 8192;

// An RTM_NEWADDR request in buf: addr (len bytes: 16 for AF_INET6, 4 for
// AF_INET) with prefix_len on the link ifindex, as local and peer address.
nlmsghdr* put_new_address(char* buf, unsigned ifindex, std::uint8_t family, std::uint8_t prefix_len,
                          const void* addr, std::size_t len) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWADDR;
    nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = family;
    ifa->ifa_prefixlen = prefix_len;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = ifindex;
    mnl_attr_put(nlh, IFA_LOCAL, len, addr);
    mnl_attr_put(nlh, IFA_ADDRESS, len, addr);
    return nlh;
}
} // namespace

Result<LinkConfig> LinkConfig::create() {
    Socket sock(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC));
    if (!sock) {
        return make_error(Errc::System, "cannot open rtnetlink socket", errno);
    }
    if (mnl_socket_bind(sock.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
        return make_error(Errc::System, "cannot bind rtnetlink socket", errno);
    }
    return LinkConfig(std::move(sock));
}

Status LinkConfig::request(nlmsghdr* nlh, const char* what) {
    nlh->nlmsg_seq = seq_++;
    nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    if (mnl_socket_sendto(sock_.get(), nlh, nlh->nlmsg_len) < 0) {
        return make_error(Errc::System, what, errno);
    }
    char buf[kNetlinkBufferSize];
    unsigned portid = mnl_socket_get_portid(sock_.get());
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(sock_.get(), buf, sizeof buf);
        if (n < 0) {
            return make_error(Errc::System, what, errno);
        }
        // mnl_cb_run turns an NLMSG_ERROR ack with a non-zero code into -1/errno.
        int rc = mnl_cb_run(buf, static_cast<size_t>(n), nlh->nlmsg_seq, portid, nullptr, nullptr);
        if (rc < 0) {
            return make_error(Errc::System, what, errno);
        }
        if (rc == MNL_CB_STOP) {
            return {};
        }
    }
}

Status LinkConfig::set_mtu_up(unsigned ifindex, std::uint32_t mtu) {
    char buf[kNetlinkBufferSize];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWLINK;
    auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifm->ifi_family = AF_UNSPEC;
    ifm->ifi_index = static_cast<int>(ifindex);
    ifm->ifi_flags = IFF_UP;
    ifm->ifi_change = IFF_UP;
    mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    mnl_attr_put_u32(nlh, IFLA_TXQLEN, kTunTxQueueLen);
    return request(nlh, "cannot set link MTU and bring it up");
}

Status LinkConfig::add_address(unsigned ifindex, const proto::Ipv6Addr& addr,
                               std::uint8_t prefix_len) {
    char buf[kNetlinkBufferSize];
    nlmsghdr* nlh =
        put_new_address(buf, ifindex, AF_INET6, prefix_len, addr.bytes.data(), addr.bytes.size());
    mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
    return request(nlh, "cannot add IPv6 address to the TUN");
}

Status LinkConfig::add_ipv4_address(unsigned ifindex, const proto::Ipv4Addr& addr) {
    char buf[kNetlinkBufferSize];
    nlmsghdr* nlh = put_new_address(buf, ifindex, AF_INET, 32, addr.data(), addr.size());
    return request(nlh, "cannot add IPv4 address to the TUN");
}

Status LinkConfig::add_route(unsigned ifindex, const proto::Ipv6Addr& prefix,
                             std::uint8_t prefix_len) {
    char buf[kNetlinkBufferSize];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWROUTE;
    nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = AF_INET6;
    rtm->rtm_dst_len = prefix_len;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_STATIC;
    rtm->rtm_scope = RT_SCOPE_UNIVERSE;
    rtm->rtm_type = RTN_UNICAST;
    mnl_attr_put(nlh, RTA_DST, prefix.bytes.size(), prefix.bytes.data());
    mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
    return request(nlh, "cannot add route into the TUN");
}

} // namespace enftun::netlink
