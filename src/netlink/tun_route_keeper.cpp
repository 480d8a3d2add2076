#include "enftun/netlink/tun_route_keeper.hpp"

#include "enftun/log/log.hpp"

#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace enftun::netlink {

namespace {

// Large enough for any notification or dump datagram (MNL_SOCKET_DUMP_SIZE).
constexpr std::size_t kRecvBuffer = 32768;
// Datagrams read per readable event before yielding to the loop.
constexpr int kReadBatch = 64;
constexpr unsigned kGroups = RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
// A route message we parse is copied here first (aligned for nlmsghdr and
// the attributes libmnl reads in place); a longer one (many nexthops) is
// not a single-device route.
constexpr std::size_t kMaxRouteMessage = 1024;
constexpr std::size_t kRequestBuffer = 256;

struct Attrs {
    const nlattr* tb[RTA_MAX + 1] = {};
};

int collect_attr(const nlattr* attr, void* data) {
    const int type = mnl_attr_get_type(attr);
    if (type >= 0 && type <= RTA_MAX) {
        static_cast<Attrs*>(data)->tb[type] = attr;
    }
    return MNL_CB_OK;
}

bool read_u32(const nlattr* a, std::uint32_t& out) {
    if (a == nullptr || mnl_attr_get_payload_len(a) != sizeof(std::uint32_t)) {
        return false;
    }
    std::memcpy(&out, mnl_attr_get_payload(a), sizeof out);
    return true;
}

// Copies an address attribute of the family's length into out.
bool read_addr(const nlattr* a, std::size_t len, std::array<std::uint8_t, 16>& out) {
    if (a == nullptr || mnl_attr_get_payload_len(a) != len) {
        return false;
    }
    std::memcpy(out.data(), mnl_attr_get_payload(a), len);
    return true;
}

bool made_by_kernel(std::uint8_t protocol) {
    return protocol == RTPROT_KERNEL || protocol == RTPROT_REDIRECT || protocol == RTPROT_RA;
}

int on_dump_message(const nlmsghdr* nlh, void* data) {
    static_cast<TunRouteKeeper*>(data)->on_message(
        Bytes(reinterpret_cast<const std::uint8_t*>(nlh), nlh->nlmsg_len));
    return MNL_CB_OK;
}

} // namespace

std::optional<KeptRoute> keepable_route(Bytes msg, unsigned ifindex) {
    alignas(nlmsghdr) std::array<std::uint8_t, kMaxRouteMessage> copy;
    if (msg.size() < NLMSG_HDRLEN + sizeof(rtmsg) || msg.size() > copy.size()) {
        return std::nullopt;
    }
    std::copy(msg.begin(), msg.end(), copy.begin());
    auto* nlh = reinterpret_cast<nlmsghdr*>(copy.data());
    if (nlh->nlmsg_len != msg.size() || nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(rtmsg) ||
        (nlh->nlmsg_type != RTM_NEWROUTE && nlh->nlmsg_type != RTM_DELROUTE)) {
        return std::nullopt;
    }
    rtmsg rtm;
    std::memcpy(&rtm, copy.data() + NLMSG_HDRLEN, sizeof rtm);
    const std::size_t addr_len = rtm.rtm_family == AF_INET6  ? 16
                                 : rtm.rtm_family == AF_INET ? 4
                                                             : 0;
    if (addr_len == 0 || rtm.rtm_dst_len > addr_len * 8 || (rtm.rtm_flags & RTM_F_CLONED) != 0 ||
        made_by_kernel(rtm.rtm_protocol) ||
        (rtm.rtm_type != RTN_UNICAST && rtm.rtm_type != RTN_MULTICAST)) {
        return std::nullopt;
    }
    Attrs attrs;
    if (mnl_attr_parse(nlh, sizeof(rtmsg), collect_attr, &attrs) < 0) {
        return std::nullopt;
    }
    std::uint32_t oif = 0;
    if (!read_u32(attrs.tb[RTA_OIF], oif) || oif != ifindex) {
        return std::nullopt;
    }
    KeptRoute r;
    r.family = rtm.rtm_family;
    r.dst_len = rtm.rtm_dst_len;
    r.protocol = rtm.rtm_protocol;
    r.scope = rtm.rtm_scope;
    r.type = rtm.rtm_type;
    r.table = rtm.rtm_table;
    read_u32(attrs.tb[RTA_TABLE], r.table);
    r.has_priority = read_u32(attrs.tb[RTA_PRIORITY], r.priority);
    if (attrs.tb[RTA_DST] != nullptr && !read_addr(attrs.tb[RTA_DST], addr_len, r.dst)) {
        return std::nullopt;
    }
    if (attrs.tb[RTA_GATEWAY] != nullptr) {
        if (!read_addr(attrs.tb[RTA_GATEWAY], addr_len, r.gateway)) {
            return std::nullopt;
        }
        r.has_gateway = true;
    }
    if (const nlattr* pref = attrs.tb[RTA_PREF]; pref != nullptr) {
        if (mnl_attr_get_payload_len(pref) != 1) {
            return std::nullopt;
        }
        r.pref = mnl_attr_get_u8(pref);
    }
    return r;
}

nlmsghdr* put_route_request(void* buf, const KeptRoute& r, unsigned ifindex) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWROUTE;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = r.family;
    rtm->rtm_dst_len = r.dst_len;
    rtm->rtm_protocol = r.protocol;
    rtm->rtm_scope = r.scope;
    rtm->rtm_type = r.type;
    rtm->rtm_table = static_cast<std::uint8_t>(r.table < 256 ? r.table : RT_TABLE_UNSPEC);
    mnl_attr_put_u32(nlh, RTA_TABLE, r.table);
    const std::size_t addr_len = r.family == AF_INET6 ? 16 : 4;
    if (r.dst_len > 0) {
        mnl_attr_put(nlh, RTA_DST, addr_len, r.dst.data());
    }
    if (r.has_gateway) {
        mnl_attr_put(nlh, RTA_GATEWAY, addr_len, r.gateway.data());
    }
    mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
    if (r.has_priority) {
        mnl_attr_put_u32(nlh, RTA_PRIORITY, r.priority);
    }
    if (r.pref) {
        mnl_attr_put_u8(nlh, RTA_PREF, *r.pref);
    }
    return nlh;
}

TunRouteKeeper::TunRouteKeeper(loop::Loop& loop, unsigned ifindex,
                               std::function<void()> on_up_again)
    : loop_(loop), ifindex_(ifindex), on_up_again_(std::move(on_up_again)) {}

TunRouteKeeper::~TunRouteKeeper() {
    stop();
}

Status TunRouteKeeper::start() {
    if (events_) {
        return {};
    }
    Socket events(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK));
    Socket requests(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC));
    if (!events || !requests) {
        return make_error(Errc::System, "cannot open rtnetlink socket", errno);
    }
    if (mnl_socket_bind(events.get(), kGroups, MNL_SOCKET_AUTOPID) < 0 ||
        mnl_socket_bind(requests.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
        return make_error(Errc::System, "cannot bind rtnetlink socket", errno);
    }
    buf_.resize(kRecvBuffer);
    req_buf_.resize(kRecvBuffer);
    events_ = std::move(events);
    requests_ = std::move(requests);
    // Subscribed first, listed second: a route added in between is seen
    // by both, and kept once.
    if (auto st = dump(); !st) {
        stop();
        return st;
    }
    poll_ = std::make_unique<loop::Poll>(loop_, mnl_socket_get_fd(events_.get()),
                                         [this](int status, int) {
                                             on_readable();
                                             if (status < 0 && poll_) {
                                                 // ENOBUFS arrives as a socket error, and
                                                 // libuv then stops the poll (as in
                                                 // RouteMonitor::on_poll): watch again.
                                                 poll_->watch(0);
                                                 poll_->watch(UV_READABLE);
                                             }
                                         });
    poll_->watch(UV_READABLE);
    return {};
}

void TunRouteKeeper::stop() {
    poll_.reset();
    events_.reset();
    requests_.reset();
}

Status TunRouteKeeper::dump() {
    alignas(nlmsghdr) std::array<std::uint8_t, kRequestBuffer> req{};
    nlmsghdr* nlh = mnl_nlmsg_put_header(req.data());
    nlh->nlmsg_type = RTM_GETROUTE;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = seq_++;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = AF_UNSPEC;
    return exchange(nlh, on_dump_message, "cannot list routes");
}

// Sends one request and reads the answers until the kernel's last (the
// dump's end, or the ack); an NLMSG_ERROR becomes -1 with its errno.
Status TunRouteKeeper::exchange(nlmsghdr* nlh, mnl_cb_t on_answer, const char* what) {
    if (mnl_socket_sendto(requests_.get(), nlh, nlh->nlmsg_len) < 0) {
        return make_error(Errc::System, what, errno);
    }
    const unsigned portid = mnl_socket_get_portid(requests_.get());
    for (;;) {
        const ssize_t n = mnl_socket_recvfrom(requests_.get(), req_buf_.data(), req_buf_.size());
        if (n < 0) {
            return make_error(Errc::System, what, errno);
        }
        const int rc = mnl_cb_run(req_buf_.data(), static_cast<std::size_t>(n), nlh->nlmsg_seq,
                                  portid, on_answer, on_answer != nullptr ? this : nullptr);
        if (rc < 0) {
            return make_error(Errc::System, what, errno);
        }
        if (rc == MNL_CB_STOP) {
            return {};
        }
    }
}

void TunRouteKeeper::on_readable() {
    for (int i = 0; i < kReadBatch && events_; ++i) {
        const ssize_t n = mnl_socket_recvfrom(events_.get(), buf_.data(), buf_.size());
        if (n < 0) {
            const int err = errno; // the log line below may change errno
            if (err == EAGAIN || err == EWOULDBLOCK) {
                return;
            }
            // ENOBUFS: notifications lost. A route added meanwhile is not
            // kept; one deleted is still listed (its re-add may fail).
            ENFTUN_LOG_RATELIMITED(log::Level::Warn, "TUN route keeper: netlink receive: %s",
                                   strerror(err));
            if (err == ENOBUFS || err == EINTR || err == ENOSPC) {
                continue;
            }
            return;
        }
        Bytes datagram(buf_.data(), static_cast<std::size_t>(n));
        while (datagram.size() >= NLMSG_HDRLEN) {
            std::uint32_t len = 0;
            std::memcpy(&len, datagram.data(), sizeof len); // nlmsg_len comes first
            if (len < NLMSG_HDRLEN || len > datagram.size()) {
                break;
            }
            on_message(datagram.first(len));
            datagram = datagram.subspan(std::min<std::size_t>(NLMSG_ALIGN(len), datagram.size()));
        }
    }
}

void TunRouteKeeper::on_message(Bytes msg) {
    nlmsghdr hdr;
    if (msg.size() < NLMSG_HDRLEN) {
        return;
    }
    std::memcpy(&hdr, msg.data(), sizeof hdr);
    if (hdr.nlmsg_type == RTM_NEWLINK || hdr.nlmsg_type == RTM_DELLINK) {
        ifinfomsg ifi;
        if (msg.size() < NLMSG_HDRLEN + sizeof ifi) {
            return;
        }
        std::memcpy(&ifi, msg.data() + NLMSG_HDRLEN, sizeof ifi);
        if (ifi.ifi_index != static_cast<int>(ifindex_)) {
            return;
        }
        if (hdr.nlmsg_type == RTM_DELLINK) {
            routes_.clear(); // the device is gone: nothing to restore onto
            up_ = false;
            return;
        }
        const bool up = (ifi.ifi_flags & IFF_UP) != 0;
        const bool again = up && !up_;
        up_ = up;
        if (again) {
            restore();
        }
        return;
    }
    if (hdr.nlmsg_type != RTM_NEWROUTE && hdr.nlmsg_type != RTM_DELROUTE) {
        return;
    }
    auto r = keepable_route(msg, ifindex_);
    if (!r) {
        return;
    }
    if (hdr.nlmsg_type == RTM_NEWROUTE) {
        keep(*r);
    } else if (up_) {
        forget(*r); // deleted on purpose; while down it is the kernel's flush
    }
}

void TunRouteKeeper::keep(const KeptRoute& r) {
    if (std::ranges::find(routes_, r) != routes_.end()) {
        return;
    }
    if (routes_.size() >= kMaxKeptRoutes) {
        if (!std::exchange(warned_full_, true)) {
            ENFTUN_LOG_WARN("TUN route keeper: more than %zu routes through the TUN; the rest "
                            "are not put back if it goes down and up",
                            kMaxKeptRoutes);
        }
        return;
    }
    routes_.push_back(r);
}

void TunRouteKeeper::forget(const KeptRoute& r) {
    std::erase(routes_, r);
}

void TunRouteKeeper::restore() {
    if (on_up_again_) {
        on_up_again_();
    }
    std::size_t added = 0;
    std::size_t failed = 0;
    for (const auto& r : routes_) {
        if (auto st = add(r); st) {
            ++added;
        } else if (st.error().sys != EEXIST) {
            ++failed;
            ENFTUN_LOG_RATELIMITED(log::Level::Warn,
                                   "TUN route keeper: cannot add a route back: %s",
                                   strerror(st.error().sys));
        }
    }
    restored_ += added;
    restore_failures_ += failed;
    ENFTUN_LOG_INFO("TUN is up again: put back %zu of its %zu routes (%zu failed)", added,
                    routes_.size(), failed);
}

Status TunRouteKeeper::add(const KeptRoute& r) {
    if (!requests_) {
        return make_error(Errc::System, "no rtnetlink socket", EBADF);
    }
    alignas(nlmsghdr) std::array<std::uint8_t, kRequestBuffer> req{};
    nlmsghdr* nlh = put_route_request(req.data(), r, ifindex_);
    nlh->nlmsg_seq = seq_++;
    return exchange(nlh, nullptr, "cannot add a route");
}

} // namespace enftun::netlink
